"""CloudWatch alarms, locally: the rules (``alarms``, pure), the evaluator that applies them
to the metrics in the emulator and notifies the alarm topics (``evaluator``), and the
AWS-published metrics the local runtime can stand for (``service_metrics``)."""
