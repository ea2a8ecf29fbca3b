"""Keyward's benchmarks: `make bench`, `make bench-http`, `make bench-exchange`."""
