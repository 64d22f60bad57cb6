"""Deployment: configs, targets behind one interface, services and their credentials."""

from modelport.deploy.config import DeploymentConfig, InferenceConfig
from modelport.deploy.webservice import Webservice, deploy_service
from modelport.deploy.webservices import (
    AciWebservice,
    AksWebservice,
    ContainerWebservice,
    KubernetesWebservice,
    LocalWebservice,
)

__all__ = [
    "AciWebservice",
    "AksWebservice",
    "ContainerWebservice",
    "DeploymentConfig",
    "InferenceConfig",
    "KubernetesWebservice",
    "LocalWebservice",
    "Webservice",
    "deploy_service",
]
