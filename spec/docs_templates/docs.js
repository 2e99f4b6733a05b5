// Starts Swagger UI on the spec embedded in index.html. Everything that could reach the network is off:
// the docs open from disk and from the mock, and must not call the real platform or swagger.io.
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("openapi-spec").textContent);
  window.ui = SwaggerUIBundle({
    spec: spec,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The default posts the spec to validator.swagger.io for a badge.
    validatorUrl: null,
    // "Try it out" would send requests to the spec's only server, the real platform.
    supportedSubmitMethods: [],
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
    deepLinking: false
  });
})();
