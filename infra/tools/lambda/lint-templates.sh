#!/usr/bin/env bash
# `npm run lint:templates`: synthesises the stack in both store modes (Upstash, and
# ElastiCache in a new VPC with every secret, so that every endpoint and grant is there) and
# with the container target (fargate alone, and both), and runs cfn-lint on each template
# (cdk-nag runs in each synth). Fails on any E-level finding; warnings are printed.
# W3005 (a DependsOn beside a GetAtt) is how CDK writes every function's role: noise.
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v cfn-lint >/dev/null || { echo "lint:templates: cfn-lint is not installed (it is on this project's machines)"; exit 1; }
secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:highpress/keys-AbCdEf"
cert="arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-def012345678"
# The container target: on Upstash alone, and beside the functions on ElastiCache with HTTPS.
declare -A modes=(
  [upstash]="-c store=upstash"
  [elasticache]="-c store=elasticache -c apiKeysSecret=$secret -c adminKeysSecret=$secret -c alarmEmail=ops@example.com"
  [fargate]="-c store=upstash -c target=fargate -c apiKeysSecret=$secret"
  [both]="-c store=elasticache -c target=both -c certificateArn=$cert -c apiKeysSecret=$secret"
)
templates=()
for mode in upstash elasticache fargate both; do
  # shellcheck disable=SC2086
  npx cdk synth --no-notices --quiet ${modes[$mode]} -o "cdk.out.$mode" >/dev/null
  templates+=("cdk.out.$mode/HighPressStack.template.json")
done
status=0
cfn-lint --ignore-checks W3005 -- "${templates[@]}" || status=$?
# cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
if (( status & 2 )) || (( status & 1 )); then
  echo "lint:templates: cfn-lint found errors (exit $status)"
  exit 1
fi
echo "lint:templates: no E-level findings in ${templates[*]}"
