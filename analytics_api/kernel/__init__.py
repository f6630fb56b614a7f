"""The shared kernel every app uses: the error envelope, validation, dates, paging, text checks, batch ingestion,
pre-rendered pages, JSON rendering and parsing, and the OpenAPI kit."""
