#!/bin/sh
# Runs once, when the postgres volume is first initialised (official image
# convention). One database per line: tracking and registry, users and
# permissions of MLflow's auth app, and Optuna's study storage.
set -eu
for database in \
  mlflow \
  mlflow_auth \
  optuna
do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 \
    || psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\""
done
