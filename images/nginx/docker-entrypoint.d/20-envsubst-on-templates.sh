#!/bin/sh
# Renders every ${NGINX_ENVSUBST_TEMPLATE_DIR}/**/*${NGINX_ENVSUBST_TEMPLATE_SUFFIX} into
# ${NGINX_ENVSUBST_OUTPUT_DIR} with envsubst, substituting only the variables defined in the environment (and of those
# only the ones matching NGINX_ENVSUBST_FILTER, a regular expression, when set), as the official image does. An
# output directory that is not writable is reported and the rendering skipped (NGINX then starts without it).
set -e

ME=$(basename "$0")
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"

note() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    note "$ME: ERROR: $template_dir exists, but $output_dir is not writable"
    exit 0
fi

# "${A} ${B} …" for envsubst: the names of the environment's variables that match the filter (all when it is empty).
defined_envs=$(awk 'END { f = ENVIRON["NGINX_ENVSUBST_FILTER"]; for (n in ENVIRON) if (n ~ f) printf "${%s} ", n }' </dev/null)
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative_path="${template#"$template_dir/"}"
    output_path="$output_dir/${relative_path%"$suffix"}"
    subdir=$(dirname "$relative_path")
    mkdir -p "$output_dir/$subdir"
    note "$ME: Running envsubst on $template to $output_path"
    envsubst "$defined_envs" <"$template" >"$output_path"
done
