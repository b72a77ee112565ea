#!/bin/sh
# Migration fixtures (TAP): legacy roots written by gp-mklegacy, migrated
# with `graphpipe migrate`, checked for exact exit codes, errors,
# warnings, IDs from the spec's vectors (FORMATS.md §9, moby-vectors.md
# A1-A3 and §5.6), and for the invariants every run must keep (a second
# run changes nothing; --dry-run and --read-only-source write nothing
# where they must not).
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
vectors=$shared/spec/moby-vectors.md

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-fixtures-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

EMPTY=sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef

# mk NAME < DESCRIPTION: writes the legacy root $tmp/NAME.
mk () {
  cat > "$tmp/$1.ini"
  rm -rf "$tmp/$1"
  "$MKLEGACY" "$tmp/$1.ini" "$tmp/$1" || bail_out "gp-mklegacy $1 failed"
}

# migrate NAME [ARGS]: runs graphpipe migrate on $tmp/NAME, output in
# $tmp/NAME.out, exit status in $rc.
migrate () {
  name=$1
  shift
  "$GRAPHPIPE" migrate --root "$tmp/$name" "$@" > "$tmp/$name.out" 2>&1
  rc=$?
}

# rerun_stable NAME [ARGS]: a further run changes nothing.
rerun_stable () {
  name=$1
  shift
  fx_snapshot "$tmp/$name" > "$tmp/$name.snap1"
  "$GRAPHPIPE" migrate --root "$tmp/$name" "$@" > /dev/null 2>&1
  fx_snapshot "$tmp/$name" > "$tmp/$name.snap2"
  if cmp -s "$tmp/$name.snap1" "$tmp/$name.snap2"; then
    ok "$name: a second run changes nothing"
  else
    not_ok "$name: a second run changes nothing"
    diff "$tmp/$name.snap1" "$tmp/$name.snap2" | sed 's/^/# /' | head -10
  fi
}

id_of () {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# image_of NAME LABEL: the image ID the label's v1 ID migrated to.
image_of () {
  v1=$(id_of "$2")
  sed -n "s/.*\"$v1\":\"\\(sha256:[0-9a-f]*\\)\".*/\\1/p" "$tmp/$1/.migration-v1-images.json"
}

diffid_of () {
  cat "$tmp/$1/graph/$(id_of "$2")/.migration-diffid" 2>/dev/null
}

# --------------------------------------------------------------------
# FORMATS.md §9: the worked example, fallback route and fallback config.
mk s9 <<'EOF'
[root]
driver=vfs
repositories={"Repositories":{"old":{"latest":"4444444444444444444444444444444444444444444444444444444444444444"}}}

[image old]
id=4444444444444444444444444444444444444444444444444444444444444444
tarsplit=no
json={"id":"4444444444444444444444444444444444444444444444444444444444444444","comment":"Imported from -","created":"2014-06-13T14:03:50.821769-07:00","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null},"docker_version":"1.0.0","architecture":"amd64","os":"linux","Size":2}
files=d data 0755;f data/x 0644 x\n
EOF
migrate s9
ok_eq "$rc" 0 "§9: exit 0"
g=$tmp/s9/graph/4444444444444444444444444444444444444444444444444444444444444444
ok_eq "$(cat "$g/.migration-diffid")" sha256:e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31 "§9: DiffID"
ok_eq "$(gzip -dc < "$g/.migration-tardata" | sha256sum | cut -d' ' -f1)" \
  2c2576b0a775e1d7eb0e9a5253118a3be93ba4e5f8e87d2b0a5f3455c4fbc56f "§9: regenerated tar-split content"
ok_eq "$(stat -c '%a %h' "$g/.migration-tardata")" "644 1" "§9: regenerated .migration-tardata is a new 0644 file"
ok_eq "$(cat "$g/.migration-size")" 2 "§9: size"
ok_eq "$(cat "$tmp/s9/image/vfs/repositories.json")" \
  '{"Repositories":{"old":{"old:latest":"sha256:2934ad62bd641a433c126c31eab000a114bf54653d7bb54999783a3e986e1cea"}}}' \
  "§9: repositories.json"
ok_eq "$(cat "$tmp/s9/.migration-v1-images.json")" \
  '{"4444444444444444444444444444444444444444444444444444444444444444":"sha256:2934ad62bd641a433c126c31eab000a114bf54653d7bb54999783a3e986e1cea"}' \
  "§9: mapping file"
ok_eq "$(tail -c 1 "$tmp/s9/.migration-v1-images.json" | od -An -c | tr -d ' ')" '\n' "§9: mapping file ends with a newline"
l=$tmp/s9/image/vfs/layerdb/sha256/e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31
ok_eq "$(cat "$l/cache-id") $(cat "$l/size") $(test -e "$l/parent" && echo parent)" \
  "4444444444444444444444444444444444444444444444444444444444444444 2 " "§9: layer record"
rerun_stable s9

# --------------------------------------------------------------------
# §5.6: the fallback config of docker_version 1.7.1 (helper files
# written beforehand, as moby's tests do: the checksum step is skipped).
mk s56 <<'EOF'
[image one]
id=1111111111111111111111111111111111111111111111111111111111111111
tarsplit=no
json={"id":"1111111111111111111111111111111111111111111111111111111111111111","created":"2015-10-31T22:22:54.690851953Z","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":null,"PublishService":"","Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"VolumeDriver":"","WorkingDir":"","Entrypoint":null,"NetworkDisabled":false,"MacAddress":"","OnBuild":null,"Labels":null},"docker_version":"1.7.1","architecture":"amd64","os":"linux","Size":1108935}

[file graph/1111111111111111111111111111111111111111111111111111111111111111/.migration-diffid]
content=sha256:9e98980bb7b5f56a3d265dcda1294479dc2683d6a41ea44beb293495d87e7d83
[file graph/1111111111111111111111111111111111111111111111111111111111111111/.migration-size]
content=0
[file graph/1111111111111111111111111111111111111111111111111111111111111111/.migration-tardata]
content=placeholder
EOF
migrate s56
ok_eq "$rc" 0 "§5.6: exit 0"
ok_grep "$tmp/s56/.migration-v1-images.json" \
  '"1111111111111111111111111111111111111111111111111111111111111111":"sha256:703431e581620538eeb23d7c582382cb65022c1ea3843b1cc5e65889af169b1e"' \
  "§5.6: the 1.7.1 image gets Docker's ID"

# --------------------------------------------------------------------
# moby A1 (TestMigrateRefs): tags from repositories-<driver> with a given
# mapping; a second run with a truncated repositories file is a no-op.
mk a1 <<'EOF'
[root]
repositories={"Repositories":{"busybox":{"latest":"b3ca410aa2c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108","sha256:16a2a52884c2a9481ed267c2d46483eac7693b813a63132368ab098a71303f8a":"b3ca410aa2c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108"},"registry":{"2":"5d165b8e4b203685301c815e95663231691d383fd5e3d3185d1ce3f8dddead3d","latest":"8d5547a9f329b1d3f93198cd661fb5117e5a96b721c5cf9a2c389e7dd4877128"}}}

[file .migration-v1-images.json]
content={"5d165b8e4b203685301c815e95663231691d383fd5e3d3185d1ce3f8dddead3d":"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","abcdef3434c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108":"sha256:56434342345ae68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","b3ca410aa2c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108":"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"}\n
EOF
migrate a1
ok_eq "$rc" 0 "A1: exit 0"
ok_eq "$(cat "$tmp/a1/image/vfs/repositories.json")" \
  '{"Repositories":{"busybox":{"busybox:latest":"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9","busybox@sha256:16a2a52884c2a9481ed267c2d46483eac7693b813a63132368ab098a71303f8a":"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"},"registry":{"registry:2":"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}}' \
  "A1: repositories.json as Docker's reference store writes it"
ok_eq "$(stat -c '%a %s' "$tmp/a1/.migration-v1-tags" 2>/dev/null)" "644 0" "A1: empty tags marker, 0644"
printf '%s' '{"Repositories":{"busybox":{"latest":"b3ca410aa2c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108"' \
  > "$tmp/a1/repositories-vfs"
cp "$tmp/a1/image/vfs/repositories.json" "$tmp/a1.repos"
migrate a1
ok_eq "$rc" 0 "A1: second run with a truncated repositories file: exit 0"
if cmp -s "$tmp/a1.repos" "$tmp/a1/image/vfs/repositories.json"; then
  ok "A1: second run adds nothing"
else
  not_ok "A1: second run adds nothing"
fi

# --------------------------------------------------------------------
# moby A2 (TestMigrateContainers), inputs and expected bytes read from
# moby-vectors.md at run time.
if [ -f "$vectors" ]; then
  # md_json MARKER: the first line of the first ```json block after the
  # line containing MARKER.
  md_json () {
    awk -v m="$1" 'found && /^```json/ { getline; print; exit } index($0, m) { found = 1 }' "$vectors"
  }
  c1=f780ee3f80e66e9b432a57049597118a66aab8932be88e5628d4c824edbee37c
  c2=e780ee3f80e66e9b432a57049597118a66aab8932be88e5628d4c824edbee37c
  img=32ef8bbc595aad206c91d61fe6446f292852cf0d7c6baf00f0f8b9cd4069d6f6
  root=$tmp/a2
  rm -rf "$root"
  mkdir -p "$root/graph" "$root/containers/$c1" "$root/containers/$c2" "$root/vfs/dir/$c1" \
           "$root/vfs/dir/$c2" "$root/image/vfs/imagedb/content/sha256" "$root/image/vfs/layerdb/sha256"
  md_json "Container 1 —" | tr -d '\n' > "$root/containers/$c1/config.json"
  md_json "Container 2 —" | tr -d '\n' > "$root/containers/$c2/config.json"
  md_json "Image created in the image store" | tr -d '\n' > "$root/image/vfs/imagedb/content/sha256/$img"
  md_json "exact \`config.v2.json\` of container 1" | tr -d '\n' > "$tmp/a2.expected"
  printf '{"2c5ac3f849df8627fcf2822727f87c57f38b7129d3604fbc11d861fe856ff093":"sha256:%s"}\n' "$img" \
    > "$root/.migration-v1-images.json"
  # The image's two layers, as any earlier migration would have left them.
  d1=sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1
  top=c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f
  for l in "${d1#sha256:} $d1 -" "$top $EMPTY $d1"; do
    set -- $l
    mkdir -p "$root/image/vfs/layerdb/sha256/$1"
    printf '%s' "$2" > "$root/image/vfs/layerdb/sha256/$1/diff"
    printf 0 > "$root/image/vfs/layerdb/sha256/$1/size"
    printf '%s' "$c1" > "$root/image/vfs/layerdb/sha256/$1/cache-id"
    printf '' | gzip > "$root/image/vfs/layerdb/sha256/$1/tar-split.json.gz"
    [ "$3" = - ] || printf '%s' "$3" > "$root/image/vfs/layerdb/sha256/$1/parent"
  done
  migrate a2 --driver vfs
  ok_eq "$rc" 0 "A2: exit 0"
  if cmp -s "$tmp/a2.expected" "$root/containers/$c1/config.v2.json"; then
    ok "A2: config.v2.json of container 1 byte for byte"
  else
    not_ok "A2: config.v2.json of container 1 byte for byte"
  fi
  ok_eq "$(stat -c %a "$root/containers/$c1/config.v2.json")" 600 "A2: config.v2.json mode 0600"
  m=$root/image/vfs/layerdb/mounts/$c1
  ok_eq "$(cat "$m/mount-id" 2>/dev/null) $(cat "$m/parent" 2>/dev/null) $(test -e "$m/init-id" && echo init)" \
    "$c1 sha256:$top " "A2: mount record of container 1"
  ok_eq "$(ls "$root/image/vfs/layerdb/mounts")" "$c1" "A2: exactly one mount"
  ok_eq "$(test -e "$root/containers/$c2/config.v2.json" && echo yes || echo no)" no "A2: container 2 left as it was"
  ok_grep "$tmp/a2.out" "containers/$c2: image \"4c5ac3f849df8627fcf2822727f87c57f38b7129d3604fbc11d861fe856ff093\" was not migrated" \
    "A2: container 2 reported"
else
  # The vectors are part of the tree (tests/vectors/): not a skip.
  not_ok "A2: $vectors not found: make check copies it from tests/vectors/ (see tests/golden/README.md)"
fi

# --------------------------------------------------------------------
# moby A3 (TestMigrateImages): Docker 1.9 pulls (no id, parent file wins
# over parent_id), then the same images as 1.8.2 legacy ones.
id1=1c3a1d3c5c0e3b7b9e8a6f4d2c0b8a6e4d2c0b8a6f4e2d0c8b6a4f2e0d8c6b4a
id2=2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a
mk a3 <<EOF
[image one]
id=$id1
json={"architecture":"amd64","config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"container":"23304fc829f9b9349416f6eb1afec162907eba3a328f51d53a17f8986f865d65","container_config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sh","-c","#(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2015-10-31T22:22:54.690851953Z","docker_version":"1.8.2","layer_id":"sha256:55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57","os":"linux"}

[image two]
id=$id2
parent_file=$id1
json={"architecture":"amd64","config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh"],"Image":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"container":"349b014153779e30093d94f6df2a43c7a0a164e05aa207389917b540add39b51","container_config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sh","-c","#(nop) CMD [\\"sh\\"]"],"Image":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2015-10-31T22:22:55.613815829Z","docker_version":"1.8.2","layer_id":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4","os":"linux","parent_id":"sha256:039b63dd2cbaa10d6015ea574392530571ed8d7b174090f032211285a71881d0"}
EOF
migrate a3
ok_eq "$rc" 0 "A3 batch 1: exit 0"
ok_eq "$(cat "$tmp/a3/.migration-v1-images.json")" \
  "{\"$id1\":\"sha256:ca406eaf9c26898414ff5b7b3a023c33310759d6203be0663dbf1b3a712f432d\",\"$id2\":\"sha256:a488bec94bb96b26a968f913d25ef7d8d204d727ca328b52b4b059c7d03260b6\"}" \
  "A3 batch 1: mapping"
ok_eq "$(ls "$tmp/a3/image/vfs/layerdb/sha256" | tr '\n' ' ')" \
  "170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548 5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef " \
  "A3 batch 1: two layer records (EMPTY, then its chain)"
ok_eq "$(cat "$tmp/a3/image/vfs/imagedb/metadata/sha256/a488bec94bb96b26a968f913d25ef7d8d204d727ca328b52b4b059c7d03260b6/parent")" \
  sha256:ca406eaf9c26898414ff5b7b3a023c33310759d6203be0663dbf1b3a712f432d "A3 batch 1: parent metadata"
ls "$tmp/a3/image/vfs/imagedb/content/sha256" > "$tmp/a3.images"
cat > "$tmp/a3b.ini" <<'EOF'
[root]
repositories=none

[image d159]
id=d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498
checksum=sha256:55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57
json={"id":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","created":"2015-10-31T22:22:54.690851953Z","container":"23304fc829f9b9349416f6eb1afec162907eba3a328f51d53a17f8986f865d65","container_config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":null,"PublishService":"","Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sh","-c","#(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /"],"Image":"","Volumes":null,"VolumeDriver":"","WorkingDir":"","Entrypoint":null,"NetworkDisabled":false,"MacAddress":"","OnBuild":null,"Labels":null},"docker_version":"1.8.2","config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":null,"PublishService":"","Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"VolumeDriver":"","WorkingDir":"","Entrypoint":null,"NetworkDisabled":false,"MacAddress":"","OnBuild":null,"Labels":null},"architecture":"amd64","os":"linux","Size":1108935}

[image 1758]
id=17583c7dd0dae6244203b8029733bdb7d17fccbb2b5d93e2b24cf48b8bfd06e2
parent=@d159
checksum=sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4
json={"id":"17583c7dd0dae6244203b8029733bdb7d17fccbb2b5d93e2b24cf48b8bfd06e2","parent":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","created":"2015-10-31T22:22:55.613815829Z","container":"349b014153779e30093d94f6df2a43c7a0a164e05aa207389917b540add39b51","container_config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":null,"PublishService":"","Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sh","-c","#(nop) CMD [\"sh\"]"],"Image":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","Volumes":null,"VolumeDriver":"","WorkingDir":"","Entrypoint":null,"NetworkDisabled":false,"MacAddress":"","OnBuild":null,"Labels":null},"docker_version":"1.8.2","config":{"Hostname":"23304fc829f9","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":null,"PublishService":"","Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh"],"Image":"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498","Volumes":null,"VolumeDriver":"","WorkingDir":"","Entrypoint":null,"NetworkDisabled":false,"MacAddress":"","OnBuild":null,"Labels":null},"architecture":"amd64","os":"linux","Size":0}
EOF
"$MKLEGACY" "$tmp/a3b.ini" "$tmp/a3" || bail_out "gp-mklegacy a3b failed"
migrate a3
ok_eq "$rc" 0 "A3 batch 2: exit 0"
ok_grep "$tmp/a3/.migration-v1-images.json" \
  '"d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498":"sha256:ca406eaf9c26898414ff5b7b3a023c33310759d6203be0663dbf1b3a712f432d"' \
  "A3 batch 2: the 1.8.2 base gets the 1.9 pull's image ID"
ok_grep "$tmp/a3/.migration-v1-images.json" \
  '"17583c7dd0dae6244203b8029733bdb7d17fccbb2b5d93e2b24cf48b8bfd06e2":"sha256:a488bec94bb96b26a968f913d25ef7d8d204d727ca328b52b4b059c7d03260b6"' \
  "A3 batch 2: the 1.8.2 child too"
ok_eq "$(ls "$tmp/a3/image/vfs/imagedb/content/sha256")" "$(cat "$tmp/a3.images")" "A3 batch 2: no new imagedb files"
ok_eq "$(cat "$tmp/a3/image/vfs/layerdb/sha256/5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef/cache-id")" \
  "$id1" "A3 batch 2: the first migrated v1 ID stays the cache-id"
ok_eq "$(cat "$tmp/a3/image/vfs/distribution/v2metadata-by-diffid/sha256/${EMPTY#sha256:}")" \
  '[{"Digest":"sha256:55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57","SourceRepository":""},{"Digest":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4","SourceRepository":""}]' \
  "A3 batch 2: v2 metadata in Docker's order"
ok_eq "$(cat "$tmp/a3/image/vfs/distribution/diffid-by-digest/sha256/55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57") $(cat "$tmp/a3/image/vfs/distribution/diffid-by-digest/sha256/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4")" \
  "$EMPTY $EMPTY" "A3 batch 2: diffid-by-digest"
rerun_stable a3

# --------------------------------------------------------------------
# Odd names and file types: the tar-split route and a fresh Diff agree,
# for vfs (complete root filesystems) and aufs (diff directories).
odd_files='d etc 0755;f etc/hosts 0644 127.0.0.1 localhost\n;f etc/motd 0640 hello <world> & "you"\n;f with space 0644 spaced out;f caf%c3%a9 0644 unicode name;f raw%ff%fename 0644 not utf-8;d a 0755;d a/very-long-directory-name-that-goes-on-and-on-and-on-and-on-and-on-and-on 0755;f a/very-long-directory-name-that-goes-on-and-on-and-on-and-on-and-on-and-on/and-a-long-file-name-too-so-that-the-path-needs-a-prefix-or-pax 0644 long;f a/%e2%98%83-snowman-%e2%98%83-with-a-name-longer-than-one-hundred-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 0644 pax;l etc/mtab /proc/mounts;l dangling nowhere/at/all;h etc/hosts.link etc/hosts;p fifo;f empty 0644 ;z big 0644 1500000;d tmp 1777'
for drv in vfs aufs; do
  for ts in yes no; do
    mk "odd-$drv-$ts" <<EOF
[root]
driver=$drv

[image base]
tarsplit=$ts
files=$odd_files
tags=odd:base

[image child]
parent=@base
tarsplit=$ts
files=f etc/motd 0644 changed;rm with space;rm a;f new%01file 0600 control char;d etc/new.d 0700;f etc/new.d/x 0644 x
tags=odd:child;odd:latest

[image grandchild]
parent=@child
tarsplit=$ts
docker_version=1.10.0-dev
files=rm etc/new.d;f etc/hosts 0644 ::1 localhost\n
EOF
    migrate "odd-$drv-$ts"
    ok_eq "$rc" 0 "odd names ($drv, tar-split $ts): exit 0" || sed 's/^/# /' "$tmp/odd-$drv-$ts.out" | head -20
    ok_grep "$tmp/odd-$drv-$ts.out" "0 warnings, 0 failures" "odd names ($drv, tar-split $ts): no warnings"
  done
  for l in base child grandchild; do
    a=$(diffid_of "odd-$drv-yes" $l)
    b=$(diffid_of "odd-$drv-no" $l)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
      ok "odd names ($drv): $l: rebuilt tar (tar-split) = regenerated tar (driver)"
    else
      not_ok "odd names ($drv): $l: rebuilt tar (tar-split) = regenerated tar (driver): '$a' '$b'"
    fi
  done
  ok_eq "$(stat -c %h "$tmp/odd-$drv-yes/graph/$(id_of child)/.migration-tardata")" 2 \
    "odd names ($drv): .migration-tardata is a hard link to tar-data.json.gz"
  ok_eq "$(image_of "odd-$drv-yes" grandchild)" "$(image_of "odd-$drv-no" grandchild)" \
    "odd names ($drv): same image IDs either way"
  rerun_stable "odd-$drv-yes"
done

# --------------------------------------------------------------------
# Broken layers: warnings naming image and file, regenerated layers
# (same DiffIDs as an intact twin); strict refuses them.
broken_ini () {
  cat <<EOF
[image base]
files=d etc 0755;f etc/hosts 0644 127.0.0.1 localhost;d bin 0755;f bin/sh 0755 #!/bin/sh

[image crc]
parent=@base
files=f app 0644 some application bytes
$1

[image crckid]
parent=@crc
files=f kid 0644 kid

[image missing]
parent=@base
files=f data/file 0644 data data data
$2

[image escape]
parent=@base
files=f esc 0644 escape me
$3

[image gz]
parent=@base
files=f gzf 0644 gz me
$4
EOF
}
broken_ini "" "" "" "" | mk intact
broken_ini break=crc break=missing break=escape break=gzip | mk broken
migrate intact
migrate broken
ok_eq "$rc" 0 "broken layers: exit 0 (regenerated, as Docker)"
ok_grep "$tmp/broken.out" "graph/$(id_of crc)/tar-data.json.gz: file integrity checksum failed for \"app\"; the layer is rebuilt" \
  "broken layers: CRC mismatch warned, naming image and file"
ok_grep "$tmp/broken.out" "graph/$(id_of missing)/tar-data.json.gz: " "broken layers: missing file warned"
ok_grep "$tmp/broken.out" "entry 'data/file': no such file" "broken layers: ... naming the file"
ok_grep "$tmp/broken.out" "graph/$(id_of escape)/tar-data.json.gz: " "broken layers: escaping name warned"
ok_grep "$tmp/broken.out" "leaves the layer directory" "broken layers: ... as an escape"
ok_grep "$tmp/broken.out" "graph/$(id_of gz)/tar-data.json.gz: corrupt gzip stream" "broken layers: corrupt gzip warned"
ok_grep "$tmp/broken.out" "layers regenerated: 4" "broken layers: counted"
ok_grep "$tmp/broken.out" "4 warnings, 0 failures" "broken layers: four warnings"
# The driver's files of these two are intact: the same layer either way.
for l in escape gz; do
  ok_eq "$(diffid_of broken $l)" "$(diffid_of intact $l)" "broken layers: $l: regenerated DiffID = intact DiffID"
  ok_eq "$(image_of broken $l)" "$(image_of intact $l)" "broken layers: $l: same image"
done
for l in crc missing escape gz; do
  ok_eq "$(stat -c '%a %h' "$tmp/broken/graph/$(id_of $l)/.migration-tardata")" "644 1" \
    "broken layers: $l: new .migration-tardata"
done
ok_eq "$(image_of broken crckid | cut -c1-7)" sha256: "broken layers: the child of a regenerated layer migrates"
rerun_stable broken

broken_ini break=crc "" "" "" | mk strict
migrate strict --strict
ok_eq "$rc" 1 "--strict: exit 1"
ok_grep "$tmp/strict.out" "image $(id_of crc) not migrated: graph/$(id_of crc)/tar-data.json.gz: file integrity checksum failed for \"app\" (refused: strict mode)" \
  "--strict: the layer is refused, naming image and file"
ok_grep "$tmp/strict.out" "image $(id_of crckid) not migrated: graph/$(id_of crckid): parent $(id_of crc) was not migrated" \
  "--strict: its child is not migrated"
ok_eq "$(grep -l "$(id_of crc)\|$(id_of crckid)" "$tmp/strict/image/vfs/layerdb/sha256/"*/cache-id 2>/dev/null | wc -l)" 0 \
  "--strict: no layer records for them"
ok_eq "$(test -e "$tmp/strict/graph/$(id_of crc)/.migration-diffid" && echo yes || echo no)" no \
  "--strict: no checksum helper files for the refused layer"
ok_grep "$tmp/strict/.migration-v1-images.json" "$(id_of missing)" "--strict: the other images migrate"

# --------------------------------------------------------------------
# Graph failures: cycles of 2 and 50, self-parent, missing parent,
# invalid JSON, parent_id without ':', a config that cannot be built.
{
  echo "[image good]"
  echo "tags=good:latest"
  echo "[image c2a]"; echo "parent=@c2b"
  echo "[image c2b]"; echo "parent=@c2a"
  echo "[image c2kid]"; echo "parent=@c2b"
  i=0
  while [ $i -lt 50 ]; do
    echo "[image c50-$i]"; echo "parent=@c50-$(( (i + 1) % 50 ))"
    i=$((i + 1))
  done
  echo "[image c50kid]"; echo "parent=@c50-17"
  echo "[image self]"; echo "parent=@self"
  echo "[image orphan]"; echo "parent=0000000000000000000000000000000000000000000000000000000000000000"
  echo "[image orphankid]"; echo "parent=@orphan"
  echo "[image badjson]"; echo 'json={"id":"x","parent":'
  echo "[image noparentcolon]"; echo 'json={"parent_id":"abcdef"}'
  echo "[image escape]"; echo 'json={"parent":"../../../etc"}'
  echo "[image badcfg]"; echo "parent=@good"; echo "created=2015-13-45T00:00:00Z"; echo "files=f cfg 0644 cfg"
  echo "[image badcfgkid]"; echo "parent=@badcfg"; echo "files=f k 0644 k"
  echo "[container lost]"; echo "image=@badcfgkid"
} | mk graphfail
migrate graphfail
ok_eq "$rc" 1 "graph failures: exit 1"
e=$tmp/graphfail.out
ok_grep "$e" "image $(id_of c2a) not migrated: graph/$(id_of c2a): parent chain is a cycle of 2 images" "cycle of 2: first member"
ok_grep "$e" "image $(id_of c2b) not migrated: graph/$(id_of c2b): parent chain is a cycle of 2 images" "cycle of 2: second member"
ok_grep "$e" "image $(id_of c2kid) not migrated: graph/$(id_of c2kid): parent $(id_of c2b) was not migrated (cause: graph/" "cycle of 2: the image below"
ok_eq "$(grep -c "^failed: .*not migrated: graph/[0-9a-f]*: parent chain is a cycle of 50 images" "$e")" 50 "cycle of 50: one error per member"
ok_grep "$e" "image $(id_of c50kid) not migrated: graph/$(id_of c50kid): parent $(id_of c50-17) was not migrated" "cycle of 50: the image below"
ok_grep "$e" "image $(id_of self) not migrated: graph/$(id_of self): the image is its own parent" "self-parent"
ok_grep "$e" "image $(id_of orphan) not migrated: graph/$(id_of orphan): parent 0000000000000000000000000000000000000000000000000000000000000000 does not exist in graph/" "missing parent"
ok_grep "$e" "image $(id_of orphankid) not migrated: graph/$(id_of orphankid): parent $(id_of orphan) was not migrated" "below a missing parent"
ok_grep "$e" "image $(id_of badjson) not migrated: graph/$(id_of badjson)/json: " "invalid JSON"
ok_grep "$e" "image $(id_of noparentcolon) not migrated: graph/$(id_of noparentcolon)/json: parent_id \"abcdef\" has no ':'" "parent_id without ':'"
ok_grep "$e" "image $(id_of escape) not migrated: graph/$(id_of escape)/json: parent \"../../../etc\" is not a valid image ID (it would leave graph/)" "parent leaving graph/"
ok_grep "$e" "image $(id_of badcfg) not migrated: graph/$(id_of badcfg)/json: created: parsing time" "config cannot be built"
ok_grep "$e" "image $(id_of badcfgkid) not migrated: graph/$(id_of badcfgkid): parent $(id_of badcfg) was not migrated" "below it"
ok_eq "$(grep -c '^failed: ' "$e")" 62 "graph failures: one error per failed image (3+51+1+2+1+1+1+2)"
ok_grep "$e" "images migrated: 1" "graph failures: the good image migrates"
ok_eq "$(grep -l "$(id_of badcfg)" "$tmp/graphfail/image/vfs/layerdb/sha256/"*/cache-id | wc -l)" 1 \
  "a failed config keeps its layer record (as Docker)"
ok_eq "$(grep -l "$(id_of badcfgkid)" "$tmp/graphfail/image/vfs/layerdb/sha256/"*/cache-id | wc -l)" 0 \
  "... but its child gets none"
ok_grep "$e" "containers/$(id_of lost): image \"$(id_of badcfgkid)\" was not migrated; the container is left as it was" \
  "container of an image that did not migrate: reported"
ok_eq "$(ls "$tmp/graphfail/containers/$(id_of lost)")" "config.json
hostconfig.json" "... and left as it was"
ok_grep "$tmp/graphfail/image/vfs/repositories.json" '"good:latest"' "graph failures: tags of good images migrate"
rerun_stable graphfail

# --------------------------------------------------------------------
# Containers that stop the migration (Docker aborts here).
for what in absent null; do
  if [ $what = absent ]; then cfg='{"ID":"x","Name":"/noimage"}'; else cfg='{"ID":"x","Image":null}'; fi
  mk "container-$what" <<EOF
[image base]
tags=base:latest
[container aaa]
id=1111111111111111111111111111111111111111111111111111111111111111
image=@base
[container bbb]
id=2222222222222222222222222222222222222222222222222222222222222222
config=$cfg
[container ccc]
id=3333333333333333333333333333333333333333333333333333333333333333
image=@base
EOF
  migrate "container-$what"
  ok_eq "$rc" 1 "container with Image $what: exit 1"
  ok_grep "$tmp/container-$what.out" "containers/2222222222222222222222222222222222222222222222222222222222222222/config.json: " "container with Image $what: the error names it"
  ok_eq "$(test -e "$tmp/container-$what/containers/1111111111111111111111111111111111111111111111111111111111111111/config.v2.json" && echo yes) $(test -e "$tmp/container-$what/containers/3333333333333333333333333333333333333333333333333333333333333333/config.v2.json" && echo yes)" \
    "yes " "container with Image $what: earlier containers migrated, later ones not"
  ok_eq "$(test -e "$tmp/container-$what/.migration-v1-tags" && echo yes || echo no)" no \
    "container with Image $what: tags not migrated, no marker"
done

# --------------------------------------------------------------------
# Tags: collisions after normalisation (sorted legacy order wins), and
# invalid names, tags and digests (reported, skipped).
mk tags <<'EOF'
[root]
repositories={"Repositories":{"docker.io/busybox":{"latest":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},"busybox":{"latest":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","1.0":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},"library/busybox":{"1.0":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","2.0":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},"Busybox":{"latest":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"a___b":{"latest":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"sha256":{"x":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef":{"latest":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"ok":{"-bad":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","good":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","unmapped":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","sha256:0000":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"localhost:5000/ns/app":{"v1":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}}

[file .migration-v1-images.json]
content={"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":"sha256:aaaa000000000000000000000000000000000000000000000000000000000000","bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb":"sha256:bbbb000000000000000000000000000000000000000000000000000000000000"}\n
EOF
migrate tags
ok_eq "$rc" 0 "tags: exit 0"
ok_eq "$(cat "$tmp/tags/image/vfs/repositories.json")" \
  '{"Repositories":{"busybox":{"busybox:1.0":"sha256:bbbb000000000000000000000000000000000000000000000000000000000000","busybox:2.0":"sha256:bbbb000000000000000000000000000000000000000000000000000000000000","busybox:latest":"sha256:aaaa000000000000000000000000000000000000000000000000000000000000"},"localhost:5000/ns/app":{"localhost:5000/ns/app:v1":"sha256:aaaa000000000000000000000000000000000000000000000000000000000000"},"ok":{"ok:good":"sha256:aaaa000000000000000000000000000000000000000000000000000000000000"}}}' \
  "tags: collisions resolved in sorted legacy order, invalid entries skipped"
ok_grep "$tmp/tags.out" 'cannot migrate busybox:latest (legacy docker.io/busybox:latest): Conflict' "tags: the collision is reported"
ok_grep "$tmp/tags.out" 'invalid repository name "Busybox"' "tags: upper-case name reported"
ok_grep "$tmp/tags.out" 'invalid repository name "a___b"' "tags: bad separator reported"
ok_grep "$tmp/tags.out" 'invalid repository name "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"' "tags: 64-hex name reported"
ok_grep "$tmp/tags.out" 'repositories: cannot migrate sha256:x' "tags: repository name sha256 refused"
ok_grep "$tmp/tags.out" 'invalid tag "-bad" of "ok"' "tags: invalid tag reported"
ok_grep "$tmp/tags.out" 'invalid tag "sha256:0000" of "ok"' "tags: short digest is an invalid tag"
ok_no_grep "$tmp/tags.out" 'unmapped' "tags: entries of unmigrated images skipped silently"

# --------------------------------------------------------------------
# Options and edge cases.
mk opts <<'EOF'
[image base]
files=d etc 0755;f etc/hosts 0644 127.0.0.1 localhost;z big 0644 300000
tags=base:latest
[image old]
parent=@base
tarsplit=no
docker_version=1.6.2
files=f old 0644 old layer
tags=old:latest
[container c]
image=@old
EOF
cp -a "$tmp/opts" "$tmp/opts-ro"
cp -a "$tmp/opts" "$tmp/opts-j1"
fx_snapshot "$tmp/opts" > "$tmp/opts.before"
migrate opts --dry-run
ok_eq "$rc" 0 "--dry-run: exit 0"
fx_snapshot "$tmp/opts" > "$tmp/opts.after"
if cmp -s "$tmp/opts.before" "$tmp/opts.after"; then ok "--dry-run: nothing written"; else not_ok "--dry-run: nothing written"; fi
ok_grep "$tmp/opts.out" "dry run: 2 images to migrate, 2 layers to checksum" "--dry-run: the plan"
ok_grep "$tmp/opts.out" "dry run: bytes to hash: " "--dry-run: bytes to hash"
migrate opts
ok_eq "$rc" 0 "plain run: exit 0"
(cd "$tmp/opts-ro/graph" && LC_ALL=C find . -printf '%p %m %n %s %T@\n' | LC_ALL=C sort) > "$tmp/ro.before"
migrate opts-ro --read-only-source
ok_eq "$rc" 0 "--read-only-source: exit 0"
(cd "$tmp/opts-ro/graph" && LC_ALL=C find . -printf '%p %m %n %s %T@\n' | LC_ALL=C sort) > "$tmp/ro.after"
if cmp -s "$tmp/ro.before" "$tmp/ro.after"; then ok "--read-only-source: graph/ untouched"; else not_ok "--read-only-source: graph/ untouched"; fi
ok_eq "$(ls "$tmp/opts-ro/image/vfs/graphpipe-migration" | wc -l)" 2 "--read-only-source: helper files under image/vfs/graphpipe-migration"
(cd "$tmp/opts/image/vfs" && find . -path ./graphpipe-migration -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$tmp/store.plain"
(cd "$tmp/opts-ro/image/vfs" && find . -path ./graphpipe-migration -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$tmp/store.ro"
if cmp -s "$tmp/store.plain" "$tmp/store.ro"; then ok "--read-only-source: the same store"; else not_ok "--read-only-source: the same store"; fi
rerun_stable opts-ro --read-only-source
migrate opts-j1 --jobs 1
(cd "$tmp/opts-j1/image/vfs" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$tmp/store.j1"
if cmp -s "$tmp/store.plain" "$tmp/store.j1"; then ok "--jobs 1: the same store"; else not_ok "--jobs 1: the same store"; fi

mkdir -p "$tmp/nograph/vfs"
migrate nograph
ok_eq "$rc" 0 "no graph/: exit 0"
ok_eq "$(ls "$tmp/nograph")" vfs "no graph/: nothing written"

mk badmap <<'EOF'
[image base]
[file .migration-v1-images.json]
content={"aaaa":
EOF
migrate badmap
ok_eq "$rc" 1 "torn mapping file: exit 1"
ok_grep "$tmp/badmap.out" ".migration-v1-images.json: " "torn mapping file: named"
ok_eq "$(test -e "$tmp/badmap/image" && echo yes || echo no)" no "torn mapping file: nothing written"

mk twodrivers <<'EOF'
[image base]
EOF
mkdir -p "$tmp/twodrivers/aufs"
migrate twodrivers
ok_eq "$rc" 2 "two drivers: exit 2"
ok_grep "$tmp/twodrivers.out" "several storage drivers (aufs, vfs)" "two drivers: listed"
migrate twodrivers --driver vfs
ok_eq "$rc" 0 "two drivers, --driver vfs: exit 0"

# A chain 1000 deep (empty layers, no tar-split: all regenerated).
{
  echo "[image d0]"; echo "tarsplit=no"
  i=1
  while [ $i -lt 1000 ]; do
    echo "[image d$i]"; echo "parent=@d$((i - 1))"; echo "tarsplit=no"
    i=$((i + 1))
  done
  echo "tags=deep:latest"
} | mk deep
migrate deep
ok_eq "$rc" 0 "1000-deep chain: exit 0"
ok_grep "$tmp/deep.out" "images migrated: 1000" "1000-deep chain: all migrated"
ok_eq "$(ls "$tmp/deep/image/vfs/layerdb/sha256" | wc -l)" 1000 "1000-deep chain: 1000 layer records"

done_testing
