"""The publisher: the record table's stream in, one EventBridge event per new record out;
never imports the processor."""
