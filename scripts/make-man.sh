#!/bin/sh
# Write the colnet(1) man page from the tool's own help texts, so the page cannot drift from
# them: `colnet --help` lists the commands, and each `colnet COMMAND --help` becomes a section.
# usage: scripts/make-man.sh path/to/colnet VERSION > colnet.1
set -eu
colnet=$1 version=$2
# troff: a line starting with . or ' is a request, and backslashes are escapes
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
commands=$("$colnet" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -v '^version$')
cat <<EOF_HEAD
.TH COLNET 1 "" "colnet $version" "User Commands"
.SH NAME
colnet \\- train, evaluate and run convolutional networks on the CPU
.SH SYNOPSIS
.B colnet
.I COMMAND
[\\fIoptions\\fR] [\\fB\\-\\-\\fR] [\\fIFILE\\fR ...]
.br
.B colnet \\-\\-help
|
.B \\-\\-version
.SH DESCRIPTION
colnet trains and runs convolutional networks on the CPU: convolutions are lowered to GEMM
(im2col + OpenBLAS). A model is a one-line spec, a zoo name, or a checkpoint file.
Options take their value as the next argument or after '=' (\\fB\\-\\-epochs 5\\fR or
\\fB\\-\\-epochs=5\\fR); \\fB\\-\\-\\fR ends the options, so every argument after it is a file.
Shapes are written HxWxC (height, width, channels) everywhere.
.TP
.B \\-\\-help, \\-h
list the commands (\\fBcolnet COMMAND \\-\\-help\\fR for each command's options)
.TP
.B \\-\\-version, version
print the version and exit
.SH COMMANDS
EOF_HEAD
for c in $commands; do
	printf '.SS %s\n.nf\n' "$c"
	"$colnet" "$c" --help | esc
	printf '.fi\n'
done
cat <<'EOF_TAIL'
.SH EXIT STATUS
0 on success, 1 when the work failed (a file could not be read, training diverged, a
prediction failed for at least one file), 2 for a usage error.
.SH ENVIRONMENT
.TP
.B COLNET_KEEP_CORETYPE=1
keep the inherited OPENBLAS_CORETYPE (the tool otherwise re-executes itself with AVX-512
kernels on CPUs that have them)
.TP
.B COLNET_FONT
the TrueType font the pictures are drawn with
.SH SEE ALSO
The README and include/colnet.h of the colnet sources; \fBpkg-config\fR(1) (colnet.pc).
.SH LICENSE
MIT, the colnet authors.
EOF_TAIL
