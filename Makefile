# MLflow on PostgreSQL and S3, in Docker Compose. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# ---- tools and settings (override on the command line: make up ENV_FILE=...)
PYTHON         ?= python3
DOCKER_COMPOSE ?= docker compose
ENV_FILE       ?= .env
PROJECT        ?= mlflow-stack
WAIT_TIMEOUT   ?= 300
VENV           ?= .venv

# A few values of .env that make itself needs. As in Compose, a variable set in
# the environment or on the command line wins over .env.
env_value = $(or $($(1)),$(shell sed -n 's/^$(1)=//p' $(ENV_FILE) 2>/dev/null | tail -n 1))
S3            := $(or $(call env_value,S3),$(call env_value,S3_BACKEND),minio)
POSTGRES_PORT := $(call env_value,POSTGRES_PORT)
DATA_DIR      := $(or $(call env_value,DATA_DIR),./data)
OUTPUT_DIR    := $(or $(call env_value,OUTPUT_DIR),./outputs)
export DATA_DIR OUTPUT_DIR

COMPOSE_FILES := -f compose.yaml \
  $(if $(filter seaweedfs,$(S3)),-f services/seaweedfs/compose.yaml) \
  $(if $(POSTGRES_PORT),-f services/postgres/compose.publish.yaml)
# The one way this project calls Compose.
COMPOSE = $(DOCKER_COMPOSE) --project-name $(PROJECT) --env-file $(ENV_FILE) $(COMPOSE_FILES)
ENVFILE = $(PYTHON) scripts/envfile.py --env-file $(ENV_FILE) --project $(PROJECT) --s3-backend $(S3)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo; echo "  Variables: S3=minio|seaweedfs  ARGS=\"...\" (train, sweep, tune)  JOBS=  TRIALS=  WORKERS=  NAME=  SERVICE=  FORCE=1  ENV_FILE=.env"

.PHONY: env
env: ## Create .env with generated secrets if missing, and check it
	@$(ENVFILE) ensure

.PHONY: up
up: ## Build and start the stack, wait until healthy, print URLs and client settings
	@$(ENVFILE) ensure
	@$(ENVFILE) ports
	@$(COMPOSE) up --detach --build --quiet-build --remove-orphans --wait --wait-timeout $(WAIT_TIMEOUT) \
	  || { $(COMPOSE) logs --no-log-prefix --tail=3 mlflow >&2; \
	       echo "error: the stack did not become healthy; see \`make ps\` and \`make logs\`" >&2; exit 1; }
	@$(MAKE) --no-print-directory urls

.PHONY: urls
urls: ## Print the URLs and the settings an MLflow client needs
	@port=$$($(COMPOSE) port mlflow 5000 | sed 's/.*://'); user=$(or $(call env_value,MLFLOW_ADMIN_USERNAME),admin); \
	echo; \
	echo "MLflow UI and API : http://localhost:$$port   (user $$user, password: MLFLOW_ADMIN_PASSWORD in $(ENV_FILE))"; \
	echo "S3 API ($(S3))    : http://localhost:$(call env_value,S3_API_PORT)   (the server's store; clients never need it)"; \
	echo; \
	echo "Client settings (any machine that reaches the URL; no S3 keys needed):"; \
	echo "  export MLFLOW_TRACKING_URI=http://localhost:$$port"; \
	echo "  export MLFLOW_TRACKING_USERNAME=$$user"; \
	echo "  export MLFLOW_TRACKING_PASSWORD=\$$(grep ^MLFLOW_ADMIN_PASSWORD= $(ENV_FILE) | cut -d= -f2-)"

# Jobs (train, sweep, tune) run as the host user; the data folder is mounted
# writable only while the UCI files still have to be downloaded into it.
DATA_MODE = $$([ -f "$(DATA_DIR)/adult/adult.data" ] && [ -f "$(DATA_DIR)/adult/adult.test" ] && echo ro || echo rw)
JOB_ENV   = DATA_MOUNT_MODE=$(DATA_MODE) GIT_COMMIT=$$(git rev-parse HEAD 2>/dev/null || true)

.PHONY: train
train: ## Train and track the LightGBM census-income model in a container (ARGS="--param num_leaves=63")
	@$(ENVFILE) check
	@mkdir -p "$(DATA_DIR)" "$(OUTPUT_DIR)"
	@$(JOB_ENV) $(COMPOSE) run --rm --build --quiet-build --user "$$(id -u):$$(id -g)" trainer train $(ARGS)

.PHONY: down
down: ## Stop the stack (and the tunnel, if open); data stays in its volumes
	@$(COMPOSE) --profile '*' down --remove-orphans

.PHONY: ps
ps: ## Show the services and their health
	@$(COMPOSE) ps --all

.PHONY: logs
logs: ## Follow the logs (SERVICE=mlflow for one service)
	@$(COMPOSE) logs --follow --tail=200 $(SERVICE)

.PHONY: clean
clean: ## Remove the stack AND its data volumes (asks first; FORCE=1 skips the question)
	@if [ "$(FORCE)" != 1 ]; then \
	  read -r -p "Delete every run, model and artifact of project $(PROJECT)? [y/N] " answer; \
	  [ "$$answer" = y ] || [ "$$answer" = Y ] || { echo "kept everything"; exit 1; }; \
	fi
	@# By label, not through Compose: this also works when .env is lost, and removes
	@# the volumes of both S3 backends.
	@label=com.docker.compose.project=$(PROJECT); \
	docker ps -aq --filter "label=$$label" | xargs -r docker rm -f >/dev/null; \
	docker volume ls -q --filter "label=$$label" | xargs -r docker volume rm >/dev/null; \
	docker network ls -q --filter "label=$$label" | xargs -r docker network rm >/dev/null; \
	echo "removed project $(PROJECT) and its volumes"

# ---- tests and benchmarks run from a local virtualenv with pinned tools
$(VENV)/.installed: tests/requirements.txt trainer/pyproject.toml
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

.PHONY: test
test: $(VENV)/.installed ## Run the unit tests, then the integration tests on a fresh stack they start and remove
	@$(VENV)/bin/pytest tests/unit tests/integration

.PHONY: test-unit
test-unit: $(VENV)/.installed ## Run the unit tests only (no Docker; seconds)
	@$(VENV)/bin/pytest tests/unit

.PHONY: bench
bench: $(VENV)/.installed ## Run the benchmarks on throwaway stacks and print their tables (minutes)
	@DATA_DIR=$(abspath $(DATA_DIR)) $(VENV)/bin/python bench/run.py

# ---- remote use: users, and the ngrok tunnel for Colab (profile "tunnel")
USERS  = $(PYTHON) scripts/users.py --env-file $(ENV_FILE)
TUNNEL = $(PYTHON) scripts/tunnel.py --env-file $(ENV_FILE)

.PHONY: user
user: ## Create a tracking-server user with no permissions and print its generated password once (NAME=alice)
	@[ -n "$$NAME" ] || { echo "error: name the user: make user NAME=alice" >&2; exit 2; }
	@$(USERS) create "$$NAME"

.PHONY: tunnel
tunnel: ## Put MLflow on a public https URL through ngrok (NGROK_AUTHTOKEN in .env) and print what Colab needs
	@$(ENVFILE) ensure
	@$(TUNNEL) check
	@$(MAKE) --no-print-directory up
	@# Never expose a server that answers anonymous requests.
	@$(TUNNEL) auth
	@$(COMPOSE) --profile tunnel up --detach --wait --wait-timeout $(WAIT_TIMEOUT) ngrok
	@# A host ngrok picked (no NGROK_DOMAIN) is allowed by recreating mlflow with it, that host alone.
	@url=$$($(TUNNEL) url); host=$${url#*://}; \
	if ! grep -qx "NGROK_DOMAIN=$$host" $(ENV_FILE); then \
	  extra="$$(sed -n 's/^MLFLOW_EXTRA_ALLOWED_HOSTS=//p' $(ENV_FILE) | tail -n 1),$$host"; \
	  echo "allowing Host $$host on the server; set NGROK_DOMAIN=$$host in $(ENV_FILE) to keep it across \`make up\`"; \
	  MLFLOW_EXTRA_ALLOWED_HOSTS="$$extra" $(COMPOSE) up --detach --wait --wait-timeout $(WAIT_TIMEOUT) mlflow; \
	fi; \
	$(TUNNEL) howto "$$url"

# ---- hyperparameter search: a grid (sweep) and an Optuna study shared by workers (tune)
JOBS    ?= 1
TRIALS  ?= 50
WORKERS ?= 1

.PHONY: sweep
sweep: ## Train a grid as child runs of one parent run, JOBS at a time (JOBS=2 ARGS="--grid num_leaves=15,63")
	@$(ENVFILE) check
	@mkdir -p "$(DATA_DIR)" "$(OUTPUT_DIR)"
	@$(JOB_ENV) $(COMPOSE) run --rm --build --quiet-build --user "$$(id -u):$$(id -g)" \
	  trainer sweep --jobs $(JOBS) $(ARGS)

.PHONY: tune
tune: ## Run an Optuna study with WORKERS containers until it has TRIALS trials; again resumes (TRIALS=50 WORKERS=2)
	@case "$(WORKERS)" in ''|*[!0-9]*|0*) echo "error: WORKERS must be a whole number of 1 or more, got '$(WORKERS)'" >&2; exit 2;; esac
	@$(ENVFILE) check
	@mkdir -p "$(DATA_DIR)" "$(OUTPUT_DIR)"
	@$(JOB_ENV) $(COMPOSE) --profile job build --quiet tune-worker
	@# The stack first, once: parallel `compose run`s would race to start it.
	@$(COMPOSE) up --detach --wait --wait-timeout $(WAIT_TIMEOUT) mlflow
	@# One `compose run` per worker, all at once; the study in PostgreSQL shares the work.
	@seq $(WORKERS) | $(JOB_ENV) xargs -P $(WORKERS) -I{} \
	  $(COMPOSE) run --rm --user "$$(id -u):$$(id -g)" tune-worker tune --trials $(TRIALS) $(ARGS)
