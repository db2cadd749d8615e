"""The live view: a web page streaming the run's browser to a person."""
