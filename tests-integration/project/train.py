import argparse

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
args = parser.parse_args()
mlflow.log_param("alpha", args.alpha)
