"""vecpipe's benchmarks: dispatch overhead and regret. Run ``python -m benchmarks``."""
