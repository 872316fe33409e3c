"""Offline Terraform harness: moto, a generated CLI config, an external stand-in, scratch copies."""
