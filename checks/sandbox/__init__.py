"""A local Microsoft cloud over HTTPS for tests, benchmarks and the demo."""
