terraform {
  # S3 state locking with `use_lockfile` is generally available from 1.11.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # `invoked_via_function_url` on aws_lambda_permission first appears in the
      # provider CHANGELOG under 6.28.0 (January 7, 2026): "resource/aws_lambda_permission:
      # Add `invoked_via_function_url` argument (#44858)". 6.29.0 (January 28, 2026)
      # also fixes aws_lambda_permission's region validation in the AWS European
      # Sovereign Cloud (#45895), so it is the floor here.
      version = ">= 6.29.0, < 7.0.0"
    }
    external = {
      source  = "hashicorp/external"
      version = "~> 2.3"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project     = var.project_name
      Environment = terraform.workspace
      ManagedBy   = "terraform"
    })
  }
}
