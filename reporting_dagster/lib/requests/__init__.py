"""Report requests: validate a generated_report row, build its document, run its lifecycle, queue schedules."""
