#!/usr/bin/env bash
# Run Terraform in the repository root for one real AWS environment.
#
# Usage: scripts/terraform_env.sh init|plan|deploy|destroy ENV
#
# Each environment is a Terraform workspace with settings in
# environments/ENV.tfvars. The workspace is selected, or created, before
# every command.
#
# Environment variables:
#   TERRAFORM       Terraform binary (default: terraform)
#   KEYS_PYTHON     interpreter for scripts/dev_keys.py (default: .venv/bin/python)
#   BACKEND_CONFIG  file passed to `terraform init -backend-config=` (S3 backend)
#   PLAN_OUT        `plan` writes the saved plan here (plan -out)
#   PLAN            `deploy` applies this saved plan instead of planning again
#   AUTO_APPROVE    1 to apply or destroy without the interactive confirmation
set -euo pipefail

cd "$(dirname "$0")/.."

export CHECKPOINT_DISABLE=1
TERRAFORM=${TERRAFORM:-terraform}
KEYS_PYTHON=${KEYS_PYTHON:-.venv/bin/python}

# Workspaces whose public key must come from the Discord Developer Portal,
# never from a generated test key pair.
PRODUCTION_ENVIRONMENTS=" prod production "

die() {
    echo "terraform_env.sh: $*" >&2
    exit 1
}

usage() {
    die "usage: scripts/terraform_env.sh init|plan|deploy|destroy ENV"
}

[[ $# -eq 2 ]] || usage
command=$1
env=$2
var_file="environments/${env}.tfvars"

[[ $env =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] \
    || die "invalid environment name '$env': use letters, digits, '-' and '_'"
[[ $env != default ]] \
    || die "the 'default' workspace is not an environment: use ENV=dev, ENV=prod or another name"
[[ -f $var_file ]] \
    || die "$var_file not found: create it (copy environments/dev.tfvars) to add environment '$env'"

# Print the -var argument for the public key when the tfvars file leaves it
# unset: the environment's test key pair, except for production.
public_key_args() {
    if grep -Eq '^[[:space:]]*discord_public_key[[:space:]]*=' "$var_file"; then
        return
    fi
    if [[ $PRODUCTION_ENVIRONMENTS == *" $env "* ]]; then
        die "$var_file does not set discord_public_key: copy the Public Key from the Discord" \
            "Developer Portal (General Information) into it"
    fi
    local key
    key=$("$KEYS_PYTHON" scripts/dev_keys.py public "$env") \
        || die "cannot read the test key pair of '$env' with scripts/dev_keys.py"
    echo "-var=discord_public_key=$key"
}

init() {
    local args=(-input=false)
    if [[ -n ${BACKEND_CONFIG:-} ]]; then
        [[ -f $BACKEND_CONFIG ]] || die "BACKEND_CONFIG file $BACKEND_CONFIG not found"
        grep -Eqs '^[[:space:]]*backend[[:space:]]+"s3"' ./*.tf \
            || die "BACKEND_CONFIG is set but no .tf file declares backend \"s3\": copy" \
                "backend.tf.example to backend.tf first"
        args+=("-backend-config=$BACKEND_CONFIG")
    fi
    "$TERRAFORM" init "${args[@]}"
}

select_workspace() {
    # Run init first on a fresh clone, so `make deploy ENV=dev` works alone.
    [[ -d .terraform ]] || init
    "$TERRAFORM" workspace select -or-create=true "$env"
}

key_args=()
if [[ $command == plan || ($command == deploy && -z ${PLAN:-}) || $command == destroy ]]; then
    key_arg=$(public_key_args) || exit 1
    [[ -z $key_arg ]] || key_args=("$key_arg")
fi

approve=()
[[ ${AUTO_APPROVE:-0} != 1 ]] || approve=(-auto-approve)

case $command in
    init)
        init
        select_workspace
        ;;
    plan)
        select_workspace
        "$TERRAFORM" plan -input=false "-var-file=$var_file" "${key_args[@]}" \
            ${PLAN_OUT:+"-out=$PLAN_OUT"}
        ;;
    deploy)
        select_workspace
        if [[ -n ${PLAN:-} ]]; then
            # A saved plan already contains its variables. The zips it names
            # must be in build/ exactly as `plan -out` left them.
            "$TERRAFORM" apply -input=false "$PLAN"
        else
            "$TERRAFORM" apply -input=false "-var-file=$var_file" "${key_args[@]}" \
                "${approve[@]}"
        fi
        "$TERRAFORM" output function_url
        ;;
    destroy)
        select_workspace
        "$TERRAFORM" destroy -input=false "-var-file=$var_file" "${key_args[@]}" \
            "${approve[@]}"
        ;;
    *)
        usage
        ;;
esac
