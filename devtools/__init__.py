"""Developer tooling: embedded servers for `make run` and the test suite (never imported by the app)."""
