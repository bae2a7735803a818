import argparse

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
args = parser.parse_args()
with mlflow.start_run():
    mlflow.log_metric("alpha", args.alpha)
