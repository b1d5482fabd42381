"""The policy lab: simulated people driving the real services (`run`), scenarios (`scenario`), sweeps
with common random numbers and confidence intervals (`experiment`), and reports (`report`)."""
