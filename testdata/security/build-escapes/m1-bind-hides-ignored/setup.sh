echo IGNORED-SECRET > .env; mkdir -p .git2 logs; echo x > .git2/config; echo a > logs/a.log; echo k > logs/keep.log; echo app > app.txt
printf ".env\n.git\nlogs\n!logs/keep.log\n" > .dockerignore
[ -d .git ] || mv .git2 .git; rm -rf .git2
