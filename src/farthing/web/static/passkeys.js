// Passkeys on the wallet pages: add one, sign in with one, confirm a waiting payment with one.
// The server's options and the device's answer travel in WebAuthn's JSON forms
// (PublicKeyCredential.parse…OptionsFromJSON and toJSON); the calls are the API's, with the session's
// cookie and its CSRF token (from the page's meta tag).
"use strict";

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function call(path, body) {
  const answer = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body || {}),
  });
  const read = answer.status === 204 ? {} : await answer.json();
  if (!answer.ok) throw new Error(read.detail || answer.statusText);
  return read;
}

async function create(publicKey) {
  const options = PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
  return (await navigator.credentials.create({ publicKey: options })).toJSON();
}

async function get(publicKey) {
  const options = PublicKeyCredential.parseRequestOptionsFromJSON(publicKey);
  return (await navigator.credentials.get({ publicKey: options })).toJSON();
}

const actions = {
  async enrol() {
    const started = await call("/v1/passkey_ceremonies");
    await call(`/v1/passkey_ceremonies/${started.ceremony}/complete`, { credential: await create(started.publicKey) });
    location.assign("/wallet?passkey=1");
  },
  async signIn() {
    const started = await call("/v1/auth/passkey_ceremonies");
    await call(`/v1/auth/passkey_ceremonies/${started.ceremony}/complete`, { credential: await get(started.publicKey) });
    location.assign("/wallet");
  },
  async stepUp(button) {
    await call(button.dataset.url, { passkey: await get(JSON.parse(button.dataset.options)) });
    if (button.dataset.next) location.assign(button.dataset.next);  // on with what asked for it (a checkout)
    else location.reload();
  },
};

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-passkey]");
  if (!button) return;
  event.preventDefault();
  const status = document.getElementById(button.dataset.status || "passkey-status");
  if (!window.PublicKeyCredential) {
    if (status) status.textContent = button.dataset.unsupported || "";
    return;
  }
  button.disabled = true;
  actions[button.dataset.passkey](button).catch((failed) => {
    if (status) status.textContent = failed.message;
    button.disabled = false;
  });
});
