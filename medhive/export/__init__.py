"""Build-time outputs generated from the task catalog: the Hugging Face Space folders and the knowledge
pages, so neither is written by hand for a new task."""
