# v1 deployment code using the names issue 15 adds: legacy image API, Webservice helpers,
# LocalWebservice.reload/deploy_to_cloud, datasets for profiling, RunDetails.
# tests/v1compat/test_v1_fixtures.py ports it with `modelport migrate apply` and runs it.
import json
import sys

import joblib
import numpy as np
from azureml.core import Dataset, Datastore, Environment, Experiment, Workspace
from azureml.core.image import ContainerImage, Image
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice, LocalWebservice, Webservice
from azureml.widgets import RunDetails
from sklearn.linear_model import Ridge

ws = Workspace.from_config()
x = np.random.default_rng(0).normal(size=(30, 3))
joblib.dump(Ridge().fit(x, x.sum(axis=1)), "model.pkl")
model = Model.register(ws, model_path="model.pkl", model_name="sklearn_regression")
row = [[1.0, 2.0, 3.0]]
results = {}

env = Environment("local-env")
env.python.user_managed_dependencies = True  # use this interpreter, as v1 local runs do
config = InferenceConfig(entry_script="score.py", source_directory=".", environment=env)

# Deploy locally, then find the service again by name, by compute type and tags.
local = Model.deploy(ws, "local-svc", [model], config, LocalWebservice.deploy_configuration())
local.wait_for_deployment(show_output=True)
local.add_tags({"stage": "dev"})
results["first"] = local.run(json.dumps({"data": row}))["note"]
again = Webservice(ws, "local-svc")
results["found"] = [s.name for s in Webservice.list(ws, compute_type="Local", tags=["stage"])]
results["state_running"] = again.state == LocalWebservice.STATE_RUNNING

# LocalWebservice.reload() picks up an edited script folder without a rebuild.
with open("note.txt", "w") as f:
    f.write("second\n")
local.reload()
results["reloaded"] = local.run(json.dumps({"data": row}))["note"]

# deploy_to_cloud: the same models and config as a new (container) service.
cloud = local.deploy_to_cloud(
    name="cloud-svc", deployment_config=AciWebservice.deploy_configuration()
)
cloud.wait_for_deployment()
results["cloud_type"] = cloud.compute_type

# The legacy image API: an image configuration, Image.create, deploy_from_image/_from_model.
image_config = ContainerImage.image_configuration(
    execution_script="score.py", runtime="python", dependencies=["helper.py", "note.txt"]
)
image = Image.create(ws, name="legacy-image", models=[model], image_config=image_config)
image.wait_for_creation(show_output=False)
results["image"] = [image.name, image.version, image.creation_state]
from_image = Webservice.deploy_from_image(
    ws, "image-svc", image, LocalWebservice.deploy_configuration()
)
from_image.wait_for_deployment()
results["from_image"] = from_image.run(json.dumps({"data": row}))["note"]
from_model = Webservice.deploy_from_model(
    ws, "model-svc", [model], image_config, LocalWebservice.deploy_configuration()
)
from_model.wait_for_deployment()
results["from_model"] = len(from_model.run(json.dumps({"data": row}))["prediction"])

# A profiling dataset, as v1 profiling notebooks make one.
with open("requests.csv", "w") as f:
    f.write(json.dumps({"data": row}) + "\n")
datastore = Datastore.get_default(ws)
datastore.upload_files(["requests.csv"], target_path="profiling", overwrite=True)
dataset = Dataset.Tabular.from_delimited_files(
    path=[(datastore, "profiling/requests.csv")], separator="\n"
)
registered = dataset.register(ws, "profiling-requests")
results["dataset"] = registered.name

# A logged run, summarised as text.
run = Experiment(ws, "names").start_logging()
run.log("rmse", 0.5)
run.complete()
RunDetails(run).show()

for service in Webservice.list(ws):
    service.delete()
print(json.dumps(results), file=sys.stderr)
