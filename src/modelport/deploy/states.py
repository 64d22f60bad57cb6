"""The states a service reports, as Azure v1 names them (`service.state`)."""

TRANSITIONING = "Transitioning"
HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
UNSCHEDULABLE = "Unschedulable"
FAILED = "Failed"
STOPPED = "Stopped"
