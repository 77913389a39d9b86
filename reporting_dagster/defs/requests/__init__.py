"""On-demand and scheduled report requests: the generate_report job and the sensors that feed it."""
