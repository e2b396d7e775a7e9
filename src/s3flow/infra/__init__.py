"""CDK constructs: runs only at synth time."""
