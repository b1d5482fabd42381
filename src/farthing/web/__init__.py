"""Server-rendered pages for people (issue 19, in slices): the start page, the payer's wallet, and the API
docs that work offline. Jinja2 templates, Babel's formats in English and Korean, every asset served from
here (`static/`, the vendored Swagger UI among them): no page fetches anything from elsewhere."""
