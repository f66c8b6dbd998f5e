#!/bin/sh
# Creates factum's resources in LocalStack: the same table key schema as
# nodes/storage/aws/table-layout.ts (id S partition key, position N sort key), the bucket, and a
# symmetric KMS key with an alias. Runs inside the container, where awslocal is installed.
set -eu

table="${FACTUM_TABLE:-factum}"
bucket="${FACTUM_BUCKET:-factum}"
alias_name="${FACTUM_KMS_ALIAS:-alias/factum}"

awslocal dynamodb create-table \
  --table-name "$table" \
  --attribute-definitions AttributeName=id,AttributeType=S AttributeName=position,AttributeType=N \
  --key-schema AttributeName=id,KeyType=HASH AttributeName=position,KeyType=RANGE \
  --billing-mode PAY_PER_REQUEST
awslocal dynamodb wait table-exists --table-name "$table"

awslocal s3api create-bucket --bucket "$bucket"

key_id="$(awslocal kms create-key --description 'factum system key (LocalStack)' --query KeyMetadata.KeyId --output text)"
awslocal kms create-alias --alias-name "$alias_name" --target-key-id "$key_id"

echo "factum: created table $table, bucket $bucket, key $key_id ($alias_name)"
