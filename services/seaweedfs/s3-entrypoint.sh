#!/bin/sh
# Write SeaweedFS's S3 identity file from S3_ACCESS_KEY/S3_SECRET_KEY (the
# generated keys are [A-Za-z0-9_-], so no JSON escaping is needed), then hand
# over to the image's own entrypoint with the compose command.
set -eu
umask 077
printf '{"identities":[{"name":"stack","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' \
  "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > /tmp/s3.json
exec /entrypoint.sh "$@"
