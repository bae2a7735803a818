import sys

from mlflow_testenv.cli import main

sys.exit(main())
