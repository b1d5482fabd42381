// The API docs: Swagger UI (vendored) on this server's OpenAPI document; "Authorize" takes an API key.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  persistAuthorization: true,
  deepLinking: true,
});
