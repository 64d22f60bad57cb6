# A v1 deployment script, as published v1 samples write them.
import azureml.core as aml  # module alias
from azureml.core import Workspace, Model as M
from azureml.core.webservice import AciWebservice, Webservice
from azureml.core.model import InferenceConfig
from azureml.core.environment import Environment
from azureml.core.conda_dependencies import CondaDependencies
from azureml.exceptions import WebserviceException

ws = Workspace.from_config()
print(ws.name, ws.location, ws.subscription_id)
model = M.register(workspace=ws, model_path="model.pkl", model_name="sklearn", tags={"a": "b"})
env = Environment("sklearn-env")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
inference_config = InferenceConfig(entry_script="score.py", environment=env)
aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, ssl_enabled=False)
try:
    service = M.deploy(ws, "aci-svc", [model], inference_config, aci_config, overwrite=True)
    service.wait_for_deployment(show_output=True)
except WebserviceException as exc:
    print(exc)
print(service.scoring_uri, service.get_logs())
for m in M.list(ws, latest=True):
    print(m.name, m.version)
keys = ws.list_keys()
exp = aml.Experiment(workspace=ws, name="demo")
service.delete()
