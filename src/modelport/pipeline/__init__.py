"""`azureml.pipeline` equivalents: `modelport.pipeline.core` and `modelport.pipeline.steps`."""
