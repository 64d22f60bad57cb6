"""`azureml.core.webservice` equivalents (v1's ACI/AKS names are aliases)."""

from modelport.deploy.webservice import Webservice
from modelport.deploy.webservices import (
    AciWebservice,
    AksWebservice,
    ContainerWebservice,
    KubernetesWebservice,
    LocalWebservice,
)
from modelport.errors import WebserviceException

__all__ = [
    "AciWebservice",
    "AksWebservice",
    "ContainerWebservice",
    "KubernetesWebservice",
    "LocalWebservice",
    "Webservice",
    "WebserviceException",
]
