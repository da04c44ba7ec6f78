#!/usr/bin/env bash
# deploy-lambda.sh — deploy the Synthos API to AWS Lambda without the Serverless Framework.
#
# Packages backend/ (lambda_handler.py, app/, workers/, migrations/, alembic.ini) and the
# dependencies of requirements-lambda.txt, built for the target runtime and CPU with pip
# (no Docker), creates the function or updates it, sets its environment from an env file
# and/or SSM Parameter Store (never secret literals) and creates its function URL.
# Honours AWS_ENDPOINT_URL (e.g. a local emulator). Run with --help for the options;
# docs/manual-deploy.md is the user guide.
set -euo pipefail

readonly EX_FAILED=1       # an AWS call or the build failed
readonly EX_MISSING=2      # a prerequisite (aws CLI, python3/pip) is missing
readonly EX_CREDENTIALS=3  # no usable AWS credentials
readonly EX_USAGE=64       # bad option or configuration
# 65: a secret literal would have been deployed (raised by the Python helpers below)

readonly DEPLOYER="deploy-lambda.sh"
readonly DIRECT_UPLOAD_LIMIT=52428800   # 50 MB: largest zip accepted in the API request
readonly UNZIPPED_LIMIT=262144000       # 250 MB: Lambda's limit on the unzipped package

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

log() { printf 'deploy-lambda: %s\n' "$*" >&2; }
warn() { printf 'deploy-lambda: warning: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  printf 'deploy-lambda: error: %s\n' "$*" >&2
  exit "$code"
}

usage() {
  cat <<'EOF'
Usage: backend/deploy-lambda.sh [options]

Deploy the Synthos API (handler lambda_handler.handler) to AWS Lambda without the
Serverless Framework. A first run creates the function and its URL; later runs update it.

Target
  --stage NAME              deployment stage (default: dev)                  [SYNTHOS_DEPLOY_STAGE]
  --function-name NAME      default: synthos-backend-<stage>-api-manual      [SYNTHOS_DEPLOY_FUNCTION_NAME]
  --region REGION           default: AWS_REGION, AWS_DEFAULT_REGION, then 'aws configure get region'
  --runtime RUNTIME         python3.12 (default) or python3.13               [SYNTHOS_DEPLOY_RUNTIME]
  --arch ARCH               x86_64 (default) or arm64                        [SYNTHOS_DEPLOY_ARCH]
  --memory MB               128-10240 (default: 1024)                        [SYNTHOS_DEPLOY_MEMORY]
  --timeout SECONDS         1-900 (default: 30)                              [SYNTHOS_DEPLOY_TIMEOUT]

Execution role (needed when the function does not exist yet)
  --role-arn ARN            use this role                                    [SYNTHOS_DEPLOY_ROLE_ARN]
  --create-role             create (or reuse) <function-name>-role with logs, the SSM
                            parameters below and, when configured, the data bucket and queue

Configuration (no secret literals: secrets live in SSM, the function gets their names)
  --env-file PATH           KEY=VALUE lines for the function environment     [SYNTHOS_DEPLOY_ENV_FILE]
  --ssm-path PATH           also read plain (String) parameters under PATH, e.g.
                            /synthos/dev/env/ ; the last path segment is the variable name
                                                                             [SYNTHOS_DEPLOY_SSM_PATH]
  --database-url-param NAME SSM SecureString with the database URL
                            (default: /synthos/<stage>/database-url)
  --token-signing-key-param NAME
                            SSM SecureString with the token signing key
                            (default: /synthos/<stage>/token-signing-key)

Function URL
  --auth-type TYPE          NONE (default; the app authenticates requests itself) or AWS_IAM
                                                                             [SYNTHOS_DEPLOY_AUTH_TYPE]

Packaging
  --source-dir DIR          the backend directory (default: this script's directory)
  --build-dir DIR           build cache (default: <source-dir>/../.cache/deploy-lambda)
  --wheelhouse DIR          install dependencies only from wheels in DIR (pip --no-index);
                            fill it once with --download-wheels           [SYNTHOS_DEPLOY_WHEELHOUSE]
  --s3-bucket BUCKET        upload the zip through this bucket (required above 50 MB)
                                                                             [SYNTHOS_DEPLOY_S3_BUCKET]
  --no-strip                keep debug symbols in the dependencies' shared objects (by default
                            they are stripped when a strip for the target CPU is installed:
                            binutils, or binutils-aarch64-linux-gnu for arm64 on x86_64)
  --package-only, --dry-run build the zip, print its sizes, touch nothing in AWS
  --download-wheels         download the target wheels into --wheelhouse (default:
                            <source-dir>/../.cache/wheels/<runtime>-<arch>) and exit
  -h, --help                show this help

Environment: AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566 for a local emulator), AWS_PROFILE,
the usual AWS credential variables, PYTHON (the python3 that runs pip; default python3).
pip's own variables (PIP_INDEX_URL, PIP_FIND_LINKS, ...) apply to the dependency build.

Exit codes: 0 done, 1 an AWS call or the build failed, 2 a prerequisite is missing (aws CLI,
python3/pip), 3 no usable AWS credentials, 64 bad option, 65 a secret literal was refused.
EOF
}

# --------------------------------------------------------------------------- helpers (Python)
# Small, dependency-free Python helpers: env validation, deterministic zip, JSON reading.
# shellcheck disable=SC2016
IFS= read -r -d '' PY_HELPERS <<'PY' || true
import base64, hashlib, json, os, re, stat, sys, zipfile

SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE")
# Settings whose names contain a secret-like word but hold no secret.
NOT_SECRET = {"SYNTHOS_TOKEN_TTL_SECONDS"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
URL_CREDENTIALS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]+@")
EX_USAGE, EX_SECRET = 64, 65


def fail(code, message):
    sys.stderr.write("deploy-lambda: error: " + message + "\n")
    sys.exit(code)


def secret_hint(name, stage):
    base = name[:-len("_PARAM")] if name.endswith("_PARAM") else name
    param = "/synthos/%s/%s" % (stage, base.lower().removeprefix("synthos_").replace("_", "-"))
    return (
        "store the secret in SSM Parameter Store and pass its name instead:\n"
        "  aws ssm put-parameter --name %s --type SecureString --value '...'\n"
        "and set %s_PARAM=%s (the function reads the value at run time)" % (param, base, param)
    )


def check_entry(name, value, where, stage):
    if not NAME_RE.match(name):
        fail(EX_USAGE, "%s: %r is not a valid environment variable name" % (where, name))
    upper = name.upper()
    if (
        not upper.endswith("_PARAM")
        and upper not in NOT_SECRET
        and any(word in upper for word in SECRET_WORDS)
    ):
        fail(
            EX_SECRET,
            "%s: %s looks like a secret; refusing to deploy it as a literal. %s"
            % (where, name, secret_hint(name, stage)),
        )
    if URL_CREDENTIALS_RE.match(value):
        fail(
            EX_SECRET,
            "%s: the value of %s is a URL with a password in it; refusing to deploy it as "
            "a literal. %s" % (where, name, secret_hint(name, stage)),
        )


def parse_env_file(path, stage):
    entries = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        fail(EX_USAGE, "cannot read env file %s: %s" % (path, exc.strerror))
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        where = "%s line %d" % (path, number)
        if not sep:
            fail(EX_USAGE, "%s: expected KEY=VALUE" % where)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        check_entry(name, value, where, stage)
        entries[name] = value
    return entries


def cmd_env(args):
    """env STAGE ENV_FILE SSM_JSON DB_DEFAULT KEY_DEFAULT DB_FLAG KEY_FLAG OUT: write the
    function's Environment JSON; later sources win: defaults, SSM path, env file, flags."""
    stage, env_file, ssm_json, db_default, key_default, db_flag, key_flag, out = args
    variables = {
        "SYNTHOS_STAGE": stage,
        "SYNTHOS_DATABASE_URL_PARAM": db_default,
        "SYNTHOS_TOKEN_SIGNING_KEY_PARAM": key_default,
    }
    if ssm_json:
        with open(ssm_json, encoding="utf-8") as handle:
            parameters = json.load(handle).get("Parameters", [])
        for parameter in parameters:
            name = parameter["Name"].rstrip("/").rsplit("/", 1)[-1]
            where = "SSM parameter %s" % parameter["Name"]
            if parameter.get("Type") == "SecureString":
                fail(
                    EX_SECRET,
                    "%s is a SecureString: under --ssm-path only plain String values are "
                    "copied into the environment. Leave secrets out of that path and pass "
                    "their names as *_PARAM variables instead." % where,
                )
            check_entry(name, parameter.get("Value", ""), where, stage)
            variables[name] = parameter.get("Value", "")
    if env_file:
        variables.update(parse_env_file(env_file, stage))
    if db_flag:
        variables["SYNTHOS_DATABASE_URL_PARAM"] = db_flag
    if key_flag:
        variables["SYNTHOS_TOKEN_SIGNING_KEY_PARAM"] = key_flag
    for name, value in variables.items():
        check_entry(name, value, "environment", stage)
    size = sum(len(k) + len(v) for k, v in variables.items())
    if size > 4096:
        fail(EX_USAGE, "the environment is %d bytes; Lambda allows 4 KB" % size)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"Variables": variables}, handle, sort_keys=True)
    for name in sorted(variables):
        print(name)


def cmd_check_env_file(args):
    stage, path = args
    parse_env_file(path, stage)


def cmd_key(args):
    """key FILE EXTRA...: a cache key for the dependency build."""
    digest = hashlib.sha256()
    with open(args[0], "rb") as handle:
        digest.update(handle.read())
    for extra in args[1:]:
        digest.update(b"\0" + extra.encode())
    print(digest.hexdigest())


SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, filename)
            yield full, os.path.relpath(full, root).replace(os.sep, "/")


def cmd_zip(args):
    """zip OUT DEPS_DIR SOURCE_DIR CODE_ITEM...: deterministic zip, sizes as key=value."""
    out, deps_dir, source_dir, *items = args
    entries = {}  # arcname -> (path, part)
    for path, arcname in walk(deps_dir):
        if arcname.startswith(".synthos-"):
            continue
        entries[arcname] = (path, "deps")
    for item in items:
        full = os.path.join(source_dir, item)
        if os.path.isdir(full):
            found = [(p, item + "/" + a) for p, a in walk(full)]
        elif os.path.isfile(full):
            found = [(full, item)]
        else:
            continue
        for path, arcname in found:
            if arcname in entries:
                fail(1, "%s is both in the dependencies and in the code" % arcname)
            entries[arcname] = (path, "code")
    sizes = {"code": [0, 0, 0], "deps": [0, 0, 0]}  # files, unzipped, zipped
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for arcname in sorted(entries):
            path, part = entries[arcname]
            mode = os.stat(path).st_mode
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if mode & stat.S_IXUSR else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as handle:
                data = handle.read()
            archive.writestr(info, data, compresslevel=6)
            written = archive.getinfo(arcname)
            sizes[part][0] += 1
            sizes[part][1] += written.file_size
            sizes[part][2] += written.compress_size
    os.replace(tmp, out)
    digest = hashlib.sha256()
    with open(out, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    print("zip_bytes=%d" % os.path.getsize(out))
    print("unzipped_bytes=%d" % (sizes["code"][1] + sizes["deps"][1]))
    print("code_sha256=%s" % base64.b64encode(digest.digest()).decode())
    for part in ("code", "deps"):
        files, unzipped, zipped = sizes[part]
        print("%s_files=%d" % (part, files))
        print("%s_unzipped_bytes=%d" % (part, unzipped))
        print("%s_zipped_bytes=%d" % (part, zipped))


def cmd_strip(args):
    """strip DIR: drop what the runtime never needs (bytecode, test suites, host scripts)."""
    import shutil
    root = args[0]
    shutil.rmtree(os.path.join(root, "bin"), ignore_errors=True)
    for dirpath, dirnames, _ in os.walk(root, topdown=True):
        for name in list(dirnames):
            if name in ("__pycache__", "tests") and dirpath != root:
                shutil.rmtree(os.path.join(dirpath, name))
                dirnames.remove(name)


def cmd_top_level(args):
    """top-level DIR: importable top-level names installed in DIR."""
    for name in sorted(os.listdir(args[0])):
        if name.endswith((".dist-info", ".libs")) or name.startswith("."):
            continue
        print(name[:-3] if name.endswith(".py") else name)


def cmd_policy_sids(args):
    """policy-sids FILE: statement ids of a Lambda resource policy (get-policy output)."""
    with open(args[0], encoding="utf-8") as handle:
        text = handle.read().strip()
    if not text:
        return
    policy = json.loads(json.loads(text)["Policy"])
    for statement in policy.get("Statement", []):
        print(statement.get("Sid", ""))


def cmd_json_get(args):
    """json-get FILE KEY...: print a (nested) value of a JSON file, '' when absent."""
    with open(args[0], encoding="utf-8") as handle:
        value = json.load(handle)
    for key in args[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    print("" if value is None else value)


def cmd_role_policy(args):
    """role-policy PARTITION REGION ACCOUNT ENV_JSON PARAM...: the role's inline policy."""
    partition, region, account, env_json, *params = args
    with open(env_json, encoding="utf-8") as handle:
        variables = json.load(handle)["Variables"]
    arn = "arn:%s:%%s:%s:%s:%%s" % (partition, region, account)
    statements = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ]
    names = sorted({p if p.startswith("/") else "/" + p for p in params if p})
    if names:
        statements.append({
            "Sid": "ReadConfiguredParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": [arn % ("ssm", "parameter" + name) for name in names],
        })
        statements.append({
            "Sid": "DecryptSecureStrings",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ssm.%s.amazonaws.com" % region}},
        })
    bucket = variables.get("SYNTHOS_DATA_BUCKET")
    if bucket:
        statements.append({
            "Sid": "DataBucket",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            "Resource": ["arn:%s:s3:::%s" % (partition, bucket),
                         "arn:%s:s3:::%s/*" % (partition, bucket)],
        })
    queue = variables.get("SYNTHOS_JOBS_QUEUE_NAME")
    if queue:
        statements.append({
            "Sid": "JobsQueue",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            "Resource": arn % ("sqs", queue),
        })
    print(json.dumps({"Version": "2012-10-17", "Statement": statements}))


COMMANDS = {
    "env": cmd_env,
    "check-env-file": cmd_check_env_file,
    "key": cmd_key,
    "zip": cmd_zip,
    "strip": cmd_strip,
    "top-level": cmd_top_level,
    "policy-sids": cmd_policy_sids,
    "json-get": cmd_json_get,
    "role-policy": cmd_role_policy,
}
COMMANDS[sys.argv[1]](sys.argv[2:])
PY
readonly PY_HELPERS

py() { "$python" -c "$PY_HELPERS" "$@"; }

# --------------------------------------------------------------------------- options
stage=${SYNTHOS_DEPLOY_STAGE:-dev}
function_name=${SYNTHOS_DEPLOY_FUNCTION_NAME:-}
region=${SYNTHOS_DEPLOY_REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
runtime=${SYNTHOS_DEPLOY_RUNTIME:-python3.12}
arch=${SYNTHOS_DEPLOY_ARCH:-x86_64}
memory=${SYNTHOS_DEPLOY_MEMORY:-1024}
timeout=${SYNTHOS_DEPLOY_TIMEOUT:-30}
role_arn=${SYNTHOS_DEPLOY_ROLE_ARN:-}
create_role=0
env_file=${SYNTHOS_DEPLOY_ENV_FILE:-}
ssm_path=${SYNTHOS_DEPLOY_SSM_PATH:-}
database_url_param=""
token_signing_key_param=""
auth_type=${SYNTHOS_DEPLOY_AUTH_TYPE:-NONE}
source_dir=${SYNTHOS_DEPLOY_SOURCE_DIR:-$SCRIPT_DIR}
build_dir=${SYNTHOS_DEPLOY_BUILD_DIR:-}
wheelhouse=${SYNTHOS_DEPLOY_WHEELHOUSE:-}
s3_bucket=${SYNTHOS_DEPLOY_S3_BUCKET:-}
mode=deploy
strip_binaries=1
python=${PYTHON:-python3}

while [ $# -gt 0 ]; do
  option=$1
  value=""
  case $option in
    --*=*)
      value=${option#*=}
      option=${option%%=*}
      ;;
    --stage | --function-name | --region | --runtime | --arch | --memory | --timeout | \
      --role-arn | --env-file | --ssm-path | --database-url-param | \
      --token-signing-key-param | --auth-type | --source-dir | --build-dir | --wheelhouse | \
      --s3-bucket)
      [ $# -ge 2 ] || die "$EX_USAGE" "$option needs a value (see --help)"
      value=$2
      shift
      ;;
  esac
  case $option in
    -h | --help) usage; exit 0 ;;
    --stage) stage=$value ;;
    --function-name) function_name=$value ;;
    --region) region=$value ;;
    --runtime) runtime=$value ;;
    --arch | --architecture) arch=$value ;;
    --memory) memory=$value ;;
    --timeout) timeout=$value ;;
    --role-arn) role_arn=$value ;;
    --create-role) create_role=1 ;;
    --env-file) env_file=$value ;;
    --ssm-path) ssm_path=$value ;;
    --database-url-param) database_url_param=$value ;;
    --token-signing-key-param) token_signing_key_param=$value ;;
    --auth-type) auth_type=$value ;;
    --source-dir) source_dir=$value ;;
    --build-dir) build_dir=$value ;;
    --wheelhouse) wheelhouse=$value ;;
    --s3-bucket) s3_bucket=$value ;;
    --no-strip) strip_binaries=0 ;;
    --package-only | --dry-run) mode=package ;;
    --download-wheels) mode=download ;;
    *) die "$EX_USAGE" "unknown option: $option (see --help)" ;;
  esac
  shift
done

# --------------------------------------------------------------------------- validation
[[ $stage =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] ||
  die "$EX_USAGE" "--stage must be lower-case letters, digits and '-' (got '$stage')"
function_name=${function_name:-synthos-backend-$stage-api-manual}
[[ $function_name =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
  die "$EX_USAGE" "--function-name must be 1-64 letters, digits, '-' or '_' (got '$function_name')"
case $runtime in
  python3.12 | python3.13) ;;
  *) die "$EX_USAGE" "--runtime must be python3.12 or python3.13 (got '$runtime')" ;;
esac
case $arch in
  x86_64) platforms=(manylinux2014_x86_64 manylinux_2_28_x86_64) ;;
  arm64) platforms=(manylinux2014_aarch64 manylinux_2_28_aarch64) ;;
  *) die "$EX_USAGE" "--arch must be x86_64 or arm64 (got '$arch')" ;;
esac
in_range() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
in_range "$memory" 128 10240 ||
  die "$EX_USAGE" "--memory must be 128-10240 MB (got '$memory')"
in_range "$timeout" 1 900 ||
  die "$EX_USAGE" "--timeout must be 1-900 seconds (got '$timeout')"
case $auth_type in
  NONE | AWS_IAM) ;;
  *) die "$EX_USAGE" "--auth-type must be NONE or AWS_IAM (got '$auth_type')" ;;
esac
if [ -n "$ssm_path" ]; then
  [[ $ssm_path == /* ]] || die "$EX_USAGE" "--ssm-path must start with '/' (got '$ssm_path')"
fi
[ -d "$source_dir" ] || die "$EX_USAGE" "--source-dir $source_dir is not a directory"
source_dir=$(cd "$source_dir" && pwd)
[ -f "$source_dir/lambda_handler.py" ] ||
  die "$EX_USAGE" "$source_dir/lambda_handler.py not found: is --source-dir the backend directory?"
requirements=$source_dir/requirements-lambda.txt
[ -f "$requirements" ] || die "$EX_USAGE" "$requirements not found"
repo_root=$(cd "$source_dir/.." && pwd)
build_dir=${build_dir:-$repo_root/.cache/deploy-lambda}
python_version=${runtime#python}
if [ "$mode" = download ] && [ -z "$wheelhouse" ]; then
  wheelhouse=$repo_root/.cache/wheels/$runtime-$arch
fi
if [ -n "$wheelhouse" ] && [ "$mode" != download ]; then
  [ -d "$wheelhouse" ] ||
    die "$EX_USAGE" "--wheelhouse $wheelhouse does not exist (fill it with --download-wheels)"
fi

# --------------------------------------------------------------------------- prerequisites
command -v "$python" >/dev/null 2>&1 ||
  die "$EX_MISSING" "'$python' was not found: Python 3 with pip is needed to build the package (set PYTHON to use another interpreter)."
"$python" -m pip --version >/dev/null 2>&1 ||
  die "$EX_MISSING" "'$python -m pip' does not work: install pip (e.g. 'apt-get install python3-pip' or '$python -m ensurepip')."

if [ "$mode" = deploy ] && ! command -v aws >/dev/null 2>&1; then
  die "$EX_MISSING" "the AWS CLI ('aws') was not found on PATH. Install it, then run this again:
  pip install awscli        # AWS CLI v1, into the current Python environment
  or AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html
(or use --package-only to just build the zip)."
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-lambda.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# Validate the env file before anything slow happens.
if [ -n "$env_file" ]; then
  [ -f "$env_file" ] || die "$EX_USAGE" "--env-file $env_file not found"
  py check-env-file "$stage" "$env_file"
fi

pip_target_args=(--only-binary=:all: --implementation cp --python-version "$python_version")
for platform in "${platforms[@]}"; do
  pip_target_args+=(--platform "$platform")
done

# --------------------------------------------------------------------------- wheel download
if [ "$mode" = download ]; then
  mkdir -p "$wheelhouse"
  if "$python" -m pip download --quiet --disable-pip-version-check --no-index \
    --find-links "$wheelhouse" -d "$wheelhouse" "${pip_target_args[@]}" \
    -r "$requirements" >/dev/null 2>&1; then
    log "wheelhouse $wheelhouse already holds every wheel for $runtime/$arch"
  else
    log "downloading wheels for $runtime/$arch into $wheelhouse"
    "$python" -m pip download --quiet --disable-pip-version-check -d "$wheelhouse" \
      "${pip_target_args[@]}" -r "$requirements" ||
      die "$EX_FAILED" "pip download failed (see above)"
  fi
  exit 0
fi

# --------------------------------------------------------------------------- AWS access
endpoint_args=()
aws_() {
  aws --region "$region" ${endpoint_args[@]+"${endpoint_args[@]}"} "$@"
}
export AWS_PAGER=""

account="" partition=aws
if [ "$mode" = deploy ]; then
  if [ -z "$region" ]; then
    region=$(aws configure get region 2>/dev/null || true)
  fi
  [ -n "$region" ] ||
    die "$EX_USAGE" "no AWS region: pass --region, set AWS_REGION, or run 'aws configure set region REGION'"
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    # Passed explicitly too, so an older CLI that ignores the variable cannot reach real AWS.
    endpoint_args=(--endpoint-url "$AWS_ENDPOINT_URL")
    log "using the endpoint AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
  fi
  if ! identity=$(aws_ sts get-caller-identity --query '[Account, Arn]' --output text 2>"$work/sts.err"); then
    if grep -qiE 'could not connect|connect timeout|read timeout|name resolution' "$work/sts.err"; then
      die "$EX_FAILED" "cannot reach AWS ('aws sts get-caller-identity'): $(tr '\n' ' ' <"$work/sts.err")
Check the network${AWS_ENDPOINT_URL:+ and AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL}."
    fi
    die "$EX_CREDENTIALS" "no usable AWS credentials: 'aws sts get-caller-identity' failed:
  $(tr '\n' ' ' <"$work/sts.err")
Configure credentials with one of: 'aws configure' (access key), 'aws sso login --profile NAME'
then AWS_PROFILE=NAME, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables."
  fi
  account=${identity%%$'\t'*}
  caller_arn=${identity#*$'\t'}
  partition=$(printf '%s' "$caller_arn" | cut -d: -f2)
  log "account $account ($caller_arn), region $region"
fi

# --------------------------------------------------------------------------- environment
# Built (and checked) before the slow package build, so that a refused secret fails fast.
secret_params=()
if [ "$mode" = deploy ]; then
  ssm_json=""
  if [ -n "$ssm_path" ]; then
    ssm_json=$work/ssm.json
    aws_ ssm get-parameters-by-path --path "$ssm_path" --recursive --output json >"$ssm_json" ||
      die "$EX_FAILED" "could not read SSM parameters under $ssm_path"
  fi
  env_names=$(py env "$stage" "$env_file" "$ssm_json" \
    "/synthos/$stage/database-url" "/synthos/$stage/token-signing-key" \
    "$database_url_param" "$token_signing_key_param" "$work/env.json")
  log "environment: $(printf '%s' "$env_names" | tr '\n' ' ')"

  # The function reads these SSM parameters at run time; say so now if they are missing.
  for param_var in SYNTHOS_DATABASE_URL_PARAM SYNTHOS_TOKEN_SIGNING_KEY_PARAM; do
    param_name=$(py json-get "$work/env.json" Variables "$param_var")
    [ -n "$param_name" ] || continue
    secret_params+=("$param_name")
    if param_type=$(aws_ ssm get-parameter --name "$param_name" --query Parameter.Type \
      --output text 2>/dev/null); then
      [ "$param_type" = SecureString ] ||
        warn "SSM parameter $param_name is a $param_type, not a SecureString"
    else
      warn "SSM parameter $param_name ($param_var) does not exist or is not readable: create it before the first request (see docs/manual-deploy.md)"
    fi
  done
fi

# --------------------------------------------------------------------------- execution role
role_created=0
ensure_role() {
  local role_name=${function_name:0:59}-role
  local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  if role_arn=$(aws_ iam get-role --role-name "$role_name" --query Role.Arn --output text 2>"$work/role.err"); then
    log "execution role $role_name exists"
  elif grep -q NoSuchEntity "$work/role.err"; then
    log "creating execution role $role_name"
    role_arn=$(aws_ iam create-role --role-name "$role_name" --assume-role-policy-document "$trust" \
      --description "Synthos API ($stage), created by $DEPLOYER" \
      --tags "Key=app,Value=synthos" "Key=stage,Value=$stage" \
      --query Role.Arn --output text) || die "$EX_FAILED" "could not create role $role_name"
    role_created=1
  else
    die "$EX_FAILED" "could not read role $role_name: $(cat "$work/role.err")"
  fi
  py role-policy "$partition" "$region" "$account" "$work/env.json" \
    ${secret_params[@]+"${secret_params[@]}"} >"$work/role-policy.json"
  aws_ iam put-role-policy --role-name "$role_name" --policy-name synthos-api-runtime \
    --policy-document "file://$work/role-policy.json" ||
    die "$EX_FAILED" "could not set the inline policy of role $role_name"
}

# --------------------------------------------------------------------------- function
# Looked up (and the role made ready) before the package build, so a missing role fails fast.
function_exists=0
if [ "$mode" = package ]; then
  :
elif aws_ lambda get-function-configuration --function-name "$function_name" --output json \
  >"$work/function.json" 2>"$work/function.err"; then
  function_exists=1
elif ! grep -q ResourceNotFoundException "$work/function.err"; then
  die "$EX_FAILED" "could not look up function $function_name: $(cat "$work/function.err")"
fi

if [ "$mode" = deploy ] && [ -z "$role_arn" ] && [ "$create_role" = 1 ]; then
  ensure_role
fi
if [ "$mode" = deploy ] && [ "$function_exists" = 0 ] && [ -z "$role_arn" ]; then
  die "$EX_USAGE" "function $function_name does not exist yet and creating it needs an execution role: pass --role-arn ARN, or --create-role to create one"
fi

# --------------------------------------------------------------------------- package
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
# Shared objects are stripped of debug symbols (strip --strip-unneeded) when a strip for the
# target CPU is at hand: the host's on Linux for the same CPU, else the cross binutils
# (Debian: binutils-aarch64-linux-gnu / binutils-x86-64-linux-gnu). Libraries that
# auditwheel vendored into <pkg>.libs/ are left alone: patchelf rewrote them, and strip
# would corrupt them.
strip_tool=""
if [ "$strip_binaries" = 1 ]; then
  host_arch=$(uname -m)
  if [ "$(uname -s)" = Linux ] &&
    { [ "$host_arch" = "$arch" ] || { [ "$arch" = arm64 ] && [ "$host_arch" = aarch64 ]; }; }; then
    strip_tool=$(command -v strip || true)
  fi
  if [ -z "$strip_tool" ]; then
    case $arch in
      x86_64) strip_tool=$(command -v x86_64-linux-gnu-strip || true) ;;
      arm64) strip_tool=$(command -v aarch64-linux-gnu-strip || true) ;;
    esac
  fi
  [ -n "$strip_tool" ] ||
    log "no strip for $arch found: shared objects stay unstripped (a larger zip; see --help)"
fi
deps_key=$(py key "$requirements" "$runtime" "$arch" "${platforms[*]}" "slim-v1" \
  "strip=${strip_tool:+yes}")
deps_dir=$build_dir/deps-$runtime-$arch
if [ -f "$deps_dir/.synthos-deps-key" ] && [ "$(cat "$deps_dir/.synthos-deps-key")" = "$deps_key" ]; then
  log "dependencies for $runtime/$arch: reusing $deps_dir"
else
  log "installing dependencies for $runtime/$arch (pip, no Docker)"
  pip_source_args=()
  if [ -n "$wheelhouse" ]; then
    pip_source_args=(--no-index --find-links "$wheelhouse")
  fi
  rm -rf "$deps_dir.tmp"
  PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet --disable-pip-version-check \
    --no-input --no-compile --no-warn-conflicts --no-warn-script-location \
    --target "$deps_dir.tmp" "${pip_target_args[@]}" \
    ${pip_source_args[@]+"${pip_source_args[@]}"} -r "$requirements" ||
    die "$EX_FAILED" "pip could not install $requirements for $runtime/$arch (see above)${wheelhouse:+; is $wheelhouse complete? fill it with --download-wheels}"
  py strip "$deps_dir.tmp"
  if [ -n "$strip_tool" ]; then
    find "$deps_dir.tmp" -type f -name '*.so*' -not -path '*.libs/*' -print0 |
      while IFS= read -r -d '' library; do
        "$strip_tool" --strip-unneeded "$library" 2>/dev/null ||
          warn "could not strip $library (left as it is)"
      done
  fi
  printf '%s' "$deps_key" >"$deps_dir.tmp/.synthos-deps-key"
  rm -rf "$deps_dir"
  mv "$deps_dir.tmp" "$deps_dir"
fi
for provided in boto3 botocore; do
  if [ -e "$deps_dir/$provided" ]; then
    warn "$provided is in the package although the Lambda runtime provides it (pulled in by requirements-lambda.txt)"
  fi
done
while IFS= read -r name; do
  case $name in
    app | workers | lambda_handler | migrations)
      die "$EX_FAILED" "a dependency installs a top-level '$name', which clashes with the code" ;;
  esac
done < <(py top-level "$deps_dir")

zip_path=$build_dir/$function_name-$runtime-$arch.zip
code_items=(lambda_handler.py app workers migrations alembic.ini)
py zip "$zip_path" "$deps_dir" "$source_dir" "${code_items[@]}" >"$work/sizes"
zip_bytes="" unzipped_bytes="" code_sha256=""
while IFS= read -r line; do
  case $line in
    zip_bytes=*) zip_bytes=${line#*=} ;;
    unzipped_bytes=*) unzipped_bytes=${line#*=} ;;
    code_sha256=*) code_sha256=${line#*=} ;;
  esac
done <"$work/sizes"

mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
log "package $zip_path: $(mb "$zip_bytes") zipped, $(mb "$unzipped_bytes") unzipped"

if [ "$unzipped_bytes" -gt "$UNZIPPED_LIMIT" ]; then
  die "$EX_FAILED" "the package is $(mb "$unzipped_bytes") unzipped; Lambda allows 250 MB (262144000 bytes)"
fi

if [ "$mode" = package ]; then
  printf 'runtime=%s\narchitecture=%s\nzip=%s\n' "$runtime" "$arch" "$zip_path"
  cat "$work/sizes"
  exit 0
fi

if [ "$zip_bytes" -gt "$DIRECT_UPLOAD_LIMIT" ] && [ -z "$s3_bucket" ]; then
  die "$EX_FAILED" "the zip is $(mb "$zip_bytes"), above the 50 MB direct-upload limit: pass --s3-bucket BUCKET (a bucket in $region you can write to) to upload it through S3"
fi

code_args=(--zip-file "fileb://$zip_path")
if [ -n "$s3_bucket" ]; then
  s3_key=synthos/$function_name/$(printf '%s' "$code_sha256" | tr '+/' '-_' | tr -d '=').zip
  log "uploading the package to s3://$s3_bucket/$s3_key"
  aws_ s3 cp --only-show-errors "$zip_path" "s3://$s3_bucket/$s3_key" ||
    die "$EX_FAILED" "could not upload the package to s3://$s3_bucket/$s3_key"
fi

wait_ready() {
  # Poll until the function is Active and its last update finished (what
  # 'aws lambda wait function-updated' does, with the failure reason on error).
  local deadline=$((SECONDS + 600)) state
  while :; do
    state=$(aws_ lambda get-function-configuration --function-name "$function_name" \
      --query '[State, LastUpdateStatus, LastUpdateStatusReason || StateReason]' --output text) ||
      die "$EX_FAILED" "could not read the state of $function_name"
    case $state in
      *Failed*) die "$EX_FAILED" "function $function_name: update failed: $state" ;;
      Active$'\t'Successful* | Active$'\t'None*) return 0 ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || die "$EX_FAILED" "function $function_name not ready after 10 minutes: $state"
    sleep 2
  done
}

tags="app=synthos,stage=$stage,deployed-by=$DEPLOYER"
description="Synthos API ($stage), deployed by $DEPLOYER"
config_args=(--runtime "$runtime" --handler lambda_handler.handler --memory-size "$memory"
  --timeout "$timeout" --environment "file://$work/env.json" --description "$description")

if [ "$function_exists" = 0 ]; then
  if [ -n "$s3_bucket" ]; then
    create_code=(--code "S3Bucket=$s3_bucket,S3Key=$s3_key")
  else
    create_code=("${code_args[@]}")
  fi
  log "creating function $function_name ($runtime, $arch)"
  attempt=1
  until aws_ lambda create-function --function-name "$function_name" --role "$role_arn" \
    --architectures "$arch" --package-type Zip --tags "$tags" "${config_args[@]}" \
    "${create_code[@]}" --query FunctionArn --output text >"$work/arn" 2>"$work/create.err"; do
    # A role created seconds ago may not be assumable by Lambda yet (IAM is eventually consistent).
    if [ "$role_created" = 1 ] && [ "$attempt" -lt 15 ] && grep -q "cannot be assumed" "$work/create.err"; then
      attempt=$((attempt + 1))
      sleep 4
      continue
    fi
    die "$EX_FAILED" "could not create function $function_name: $(cat "$work/create.err")"
  done
  wait_ready
else
  current_sha=$(py json-get "$work/function.json" CodeSha256)
  current_arch=$(py json-get "$work/function.json" Architectures)
  if [ "$current_sha" = "$code_sha256" ] && [ "$current_arch" = "$arch" ]; then
    log "function $function_name exists; code unchanged ($code_sha256)"
  else
    log "updating the code of $function_name"
    if [ -n "$s3_bucket" ]; then
      update_code=(--s3-bucket "$s3_bucket" --s3-key "$s3_key")
    else
      update_code=("${code_args[@]}")
    fi
    aws_ lambda update-function-code --function-name "$function_name" --architectures "$arch" \
      "${update_code[@]}" --output text --query CodeSha256 >/dev/null ||
      die "$EX_FAILED" "could not update the code of $function_name"
  fi
  wait_ready
  log "updating the configuration of $function_name"
  role_args=()
  if [ -n "$role_arn" ]; then
    role_args=(--role "$role_arn")
  fi
  aws_ lambda update-function-configuration --function-name "$function_name" \
    ${role_args[@]+"${role_args[@]}"} "${config_args[@]}" --output text --query LastUpdateStatus \
    >/dev/null || die "$EX_FAILED" "could not update the configuration of $function_name"
  wait_ready
  function_arn=$(aws_ lambda get-function-configuration --function-name "$function_name" \
    --query FunctionArn --output text)
  printf '%s\n' "$function_arn" >"$work/arn"
  aws_ lambda tag-resource --resource "$function_arn" --tags "$tags" ||
    warn "could not tag $function_arn"
fi
function_arn=$(cat "$work/arn")

# --------------------------------------------------------------------------- function URL
if url=$(aws_ lambda get-function-url-config --function-name "$function_name" \
  --query '[FunctionUrl, AuthType]' --output text 2>"$work/url.err"); then
  current_auth=${url#*$'\t'}
  url=${url%%$'\t'*}
  if [ "$current_auth" != "$auth_type" ]; then
    log "changing the function URL auth type from $current_auth to $auth_type"
    aws_ lambda update-function-url-config --function-name "$function_name" \
      --auth-type "$auth_type" --output text --query FunctionUrl >/dev/null ||
      die "$EX_FAILED" "could not update the function URL of $function_name"
  fi
elif grep -q ResourceNotFoundException "$work/url.err"; then
  log "creating the function URL (auth type $auth_type)"
  url=$(aws_ lambda create-function-url-config --function-name "$function_name" \
    --auth-type "$auth_type" --query FunctionUrl --output text) ||
    die "$EX_FAILED" "could not create the function URL of $function_name"
else
  die "$EX_FAILED" "could not read the function URL of $function_name: $(cat "$work/url.err")"
fi

# Public access for auth type NONE: lambda:InvokeFunctionUrl, and (for URLs created since
# October 2025) lambda:InvokeFunction restricted to calls made through the function URL.
if aws_ lambda get-policy --function-name "$function_name" --output json \
  >"$work/policy.json" 2>"$work/policy.err"; then
  :
elif grep -q ResourceNotFoundException "$work/policy.err"; then
  : >"$work/policy.json"
else
  die "$EX_FAILED" "could not read the resource policy of $function_name: $(cat "$work/policy.err")"
fi
sids=$(py policy-sids "$work/policy.json")
has_sid() { printf '%s\n' "$sids" | grep -qx "$1"; }
if [ "$auth_type" = NONE ]; then
  if ! has_sid FunctionURLAllowPublicAccess; then
    aws_ lambda add-permission --function-name "$function_name" \
      --statement-id FunctionURLAllowPublicAccess --action lambda:InvokeFunctionUrl \
      --principal '*' --function-url-auth-type NONE --output text >/dev/null ||
      die "$EX_FAILED" "could not allow public access to the function URL"
  fi
  if ! has_sid FunctionURLInvokeAllowPublicAccess; then
    aws_ lambda add-permission --function-name "$function_name" \
      --statement-id FunctionURLInvokeAllowPublicAccess --action lambda:InvokeFunction \
      --principal '*' --invoked-via-function-url --output text >/dev/null ||
      warn "could not add the lambda:InvokeFunction permission for the function URL (an AWS CLI older than 2025-10 lacks --invoked-via-function-url): add it in the console or upgrade the CLI"
  fi
else
  for sid in FunctionURLAllowPublicAccess FunctionURLInvokeAllowPublicAccess; do
    if has_sid "$sid"; then
      aws_ lambda remove-permission --function-name "$function_name" --statement-id "$sid" ||
        die "$EX_FAILED" "could not remove the public permission $sid"
    fi
  done
fi

log "done: $function_name is deployed; its URL is $url"
printf 'function_name=%s\nfunction_arn=%s\ncode_sha256=%s\nfunction_url=%s\n' \
  "$function_name" "$function_arn" "$code_sha256" "$url"
