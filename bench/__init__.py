"""The benchmark harness of issue 6: `python -m bench` (`make bench`); see bench/README.md."""
