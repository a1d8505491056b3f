"""Server-side parts of the MLflow tracking service: settings, start-up, bucket job, artifact plugin."""
