#!/bin/sh
# `make bench`'s part for issue 7: `detvm bench` on the ResNet-18-shaped and MobileNet-v1-shaped
# CVM models and the MobileNetV2 and person_detect TFLite models of $SHARED, each with the
# reference kernels (the baseline, in the same run) and with the default kernels on 1 and 2
# threads; the 1-thread run also lists the slowest layers. Ends with one table of the runs.
# Usage: BUILD=build SHARED=../shared sh bench/detvm_bench.sh [RUNS]
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
RUNS=${1:-20}
DETVM="$BUILD/detvm"
MODELS="conformance/cvm/medium/medium_resnet18 conformance/cvm/medium/medium_mobilenet_v1
        models/tflite/mobilenet_v2_quantized_1x3x224x224 models/tflite/person_detect"

if [ ! -d "$SHARED/conformance" ] && [ ! -d "$SHARED/models" ]; then
    echo "detvm bench: $SHARED is absent, nothing to measure"
    exit 0
fi
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
for m in $MODELS; do
    d="$SHARED/$m"
    if [ -f "$d/model.tflite" ]; then
        set -- "$d/model.tflite"
        input=$(LC_ALL=C ls "$d/inputs" 2>/dev/null | head -n 1)
        [ -n "$input" ] && input="$d/inputs/$input"
    elif [ -f "$d/symbol.json" ]; then
        set -- "$d/symbol.json" "$d/params.bin"
        input="$d/input.bin"
    else
        echo "detvm bench: $d is absent, skipped"
        continue
    fi
    [ -f "$input" ] && set -- "$@" -i "$input"
    for run in ref:1 auto:1 auto:2; do
        kernels=${run%:*}
        threads=${run#*:}
        extra=""
        [ "$kernels" = ref ] && extra="--kernels ref"     # else DETVM_KERNELS, or all there are
        [ "$run" = auto:1 ] && extra="--layers 6"
        out=$("$DETVM" bench "$@" --threads "$threads" --runs "$RUNS" $extra) || status=1
        printf '%s\n' "$out"
        printf '%s\n' "$out" | head -n 1 >>"$summary"
    done
done
echo
echo "detvm bench, median of $RUNS runs each (GMAC/s: the model's MACs over the median; peak:"
echo "the VNNI micro-kernel on as many threads, measured in the same run):"
printf '%-36s %-8s %7s %12s %10s %12s %8s\n' model kernels threads "ms" "GMAC/s" "peak GMAC/s" "% peak"
# "NAME: median X ms, G GMAC/s, F % of the VNNI peak P GMAC/s (T thread(s), kernels K)"
sed -E 's/^(.*): median ([0-9.]+) ms, ([0-9.]+) GMAC\/s, ([0-9.]+) % of the VNNI peak ([0-9.]+) GMAC\/s \(([0-9]+) threads?, kernels ([a-z0-9]+)\)$/\1 \7 \6 \2 \3 \5 \4/' \
    "$summary" | awk '{ printf "%-36s %-8s %7s %12s %10s %12s %8s\n", $1, $2, $3, $4, $5, $6, $7 }'
exit $status
