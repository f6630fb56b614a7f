"""Developer tools: the benchmarks, the reliability drills and the load-test harness they share."""
