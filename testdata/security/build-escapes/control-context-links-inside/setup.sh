mkdir sub && echo CONTEXT-FILE > sub/f && ln -s sub rel && ln -s /sub abs
