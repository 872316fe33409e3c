output "function_url" {
  description = "HTTPS endpoint of the function. Paste it into the Discord Developer Portal under General Information > Interactions Endpoint URL."
  value       = aws_lambda_function_url.this.function_url
}

output "function_name" {
  description = "Name of the Lambda function, <project_name>-<workspace>."
  value       = aws_lambda_function.this.function_name
}

output "layer_version_arn" {
  description = "ARN of the layer version the function uses, with its version number."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "layer_base64sha256" {
  description = "Base64 SHA-256 of the layer zip, as AWS reports it in CodeSha256. Equal builds give equal values."
  value       = data.external.layer.result.base64sha256
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "layer_zip" {
  description = "Path of the deployed layer zip: relative to this module's directory, or absolute when build/ resolves outside it."
  value       = aws_lambda_layer_version.dependencies.filename
}

output "function_zip" {
  description = "Path of the deployed function zip: relative to this module's directory, or absolute when build/ resolves outside it."
  value       = aws_lambda_function.this.filename
}
