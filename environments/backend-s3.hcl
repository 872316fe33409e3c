# Settings for the S3 backend (see backend.tf.example), passed with
# `make init BACKEND_CONFIG=environments/backend-s3.hcl`. Replace the bucket
# and region with your own; the bucket should have versioning enabled.
#
# One state object per workspace:
#   s3://<bucket>/<workspace_key_prefix>/<workspace>/<key>
# use_lockfile locks state with an S3 object next to it (Terraform 1.11+),
# so no DynamoDB table is needed.

bucket               = "my-terraform-state-bucket"
key                  = "terraform.tfstate"
workspace_key_prefix = "discord-bot"
region               = "us-east-1"
encrypt              = true
use_lockfile         = true
