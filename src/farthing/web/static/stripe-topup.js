// Top-ups through Stripe: the card goes into Stripe's own field (Stripe.js, from Stripe) and this server
// receives only the payment method Stripe made of it. A card that wants 3-D Secure is challenged on this
// page (the server answered with the challenge's form), then the same top-up is sent again.
(() => {
  "use strict";
  const form = document.querySelector("form[data-stripe-key]");
  if (!form || typeof Stripe !== "function") return;
  const stripe = Stripe(form.dataset.stripeKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const said = document.getElementById("card-errors");
  form.addEventListener("submit", async (event) => {
    if (form.elements.payment_method.value) return; // made already: this is the form going
    event.preventDefault();
    const made = await stripe.createPaymentMethod({ type: "card", card });
    if (made.error) {
      said.textContent = made.error.message;
      return;
    }
    form.elements.payment_method.value = made.paymentMethod.id;
    form.submit();
  });
  const challenge = document.querySelector("form[data-client-secret]");
  if (challenge) {
    stripe.handleNextAction({ clientSecret: challenge.dataset.clientSecret }).then((done) => {
      if (done.error) {
        said.textContent = done.error.message;
        return;
      }
      challenge.submit();
    });
  }
})();
