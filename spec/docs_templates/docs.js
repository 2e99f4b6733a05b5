// Starts Swagger UI on the spec embedded in index.html. Nothing reaches the network unless asked:
// the docs open from disk and from the mock, and must not call the real platform or swagger.io.
// "Try it out" is on only when the mock serves the page (docs-config.tryItOut), and then it sends
// requests to the page's own origin, the mock, never to the spec's server, the platform.
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("openapi-spec").textContent);
  var config = JSON.parse(document.getElementById("docs-config").textContent);
  var served = /^https?:$/.test(window.location.protocol);
  var tryItOut = Boolean(config.tryItOut) && served;
  if (tryItOut) {
    // The mock is the only server offered: a "Try it out" with the development token must not be one
    // choice in a list away from the real platform. openapi.json keeps the spec's own servers.
    spec.servers = [{ url: window.location.origin, description: "This mock (Try it out sends requests here)" }];
  }
  window.ui = SwaggerUIBundle({
    spec: spec,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The default posts the spec to validator.swagger.io for a badge.
    validatorUrl: null,
    // Off unless the mock serves the page: the spec's only server is the real platform.
    supportedSubmitMethods: tryItOut ? ["post"] : [],
    tryItOutEnabled: false,
    // One endpoint: show it open, with its examples, and the schemas one level deep.
    docExpansion: "full",
    defaultModelsExpandDepth: 1,
    defaultModelExpandDepth: 2,
    defaultModelRendering: "example",
    // x-contract-relations and x-seed-decisions have their own tables below; showing them raw is noise.
    showExtensions: false,
    showCommonExtensions: true,
    displayOperationId: true,
    deepLinking: false,
    onComplete: function () {
      if (tryItOut && config.authToken && config.authScheme) {
        window.ui.preauthorizeApiKey(config.authScheme, config.authToken);
      }
    }
  });
})();
