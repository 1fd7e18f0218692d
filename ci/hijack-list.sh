#!/usr/bin/env bash
# The command list of the hijacking differential test (issue 19): run in a
# directory BASE, on the host or under `rumpsp run` with BASE in the rump
# kernel. Prints "## <name>" before each command's output (stdout and stderr).
# ci/hijack.sh runs it twice and compares the two transcripts.
# Usage: ci/hijack-list.sh BASE HOSTSCRATCH
# (HOSTSCRATCH: a host directory, for the copies that go back out of the kernel)
set -u
base="$1"; scratch="$2"
src=/usr/share/doc/bash          # a real tree: files, a symlink or two, subdirectories
step() { echo "## $1"; }
cd "$base" || { echo "cannot cd to $base"; exit 1; }

step "mkdir -p";         mkdir -p a/b/c && echo ok
step "shell redirection"; echo hello > a/hello.txt; echo world >> a/hello.txt; cat < a/hello.txt
step "pipeline";         cat a/hello.txt | wc -c
step "cat head wc sort"; printf '3\n1\n2\n' > a/n.txt; head -n 2 a/n.txt; wc -l a/n.txt; sort a/n.txt
step "cp -r";            cp -r "$src" doc && echo copied
step "diff -r";          diff -r "$src" doc && echo same
step "find | sort";      find doc -type f | sort
step "du -s --apparent-size of files"; find doc -type f -print0 | du -cb --files0-from=- | tail -n 1
step "stat";             stat -c '%s %a %F %h %n' a/hello.txt && stat -c '%a %F %h %n' a/b
step "ln -s readlink";   ln -s hello.txt a/link && readlink a/link && cat a/link
step "ls -la";           ls -la a a/b | awk '/^total/ { print "total (blocks differ between file systems)"; next } NF < 3 { print; next } $9 == ".." { next } { size = ($1 ~ /^d/) ? "-" : $5; mode = ($1 ~ /^l/) ? "l(NetBSD applies the umask to symlinks, Linux shows 0777)" : $1; print mode, $2, $3, $4, size, $9, $10, $11 }'
step "chmod touch -d";   chmod 0640 a/hello.txt && touch -d '2020-01-02 03:04:05' a/hello.txt && stat -c '%a %y' a/hello.txt
step "mv";               mv a/n.txt a/b/n.txt && ls a/b
step "tar in";           mkdir t && tar cf - -C "$src" . | tar xf - -C t && echo unpacked
step "tar out";          rm -rf "$scratch/back" && mkdir -p "$scratch/back" && tar cf - -C t . | tar xf - -C "$scratch/back" && diff -r "$src" "$scratch/back" && echo same
step "rm -r";            rm -r t && ls
step "python os.walk";   python3 -c 'import os; print(sorted((r, sorted(d), sorted(f)) for r, d, f in os.walk("doc"))[:3])'
step "python copytree";  python3 -c 'import shutil; shutil.copytree("doc", "doc2"); print("ok")' && diff -r doc doc2 && echo same
step "python append";    python3 -c 'f = open("a/log", "a"); f.write("one\n"); f.close(); f = open("a/log", "a"); f.write("two\n"); f.close(); print(open("a/log").read(), end="")'
step "sqlite3";          if command -v sqlite3 >/dev/null; then
                           sqlite3 a/db.sqlite 'create table t(x integer); with recursive c(i) as (select 1 union all select i + 1 from c where i < 1000) insert into t select i from c; select count(*), sum(x) from t;'
                         else echo "sqlite3 not installed"; fi
step "git";              (git init -q g && cd g && echo x > f && git add f && git -c user.name=t -c user.email=t@t commit -q -m m && git log --format=%s) 2>&1
