// Starts ReDoc on the API's OpenAPI document (a file, so the CSP needs no inline script).
Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
