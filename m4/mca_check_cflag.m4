# MCA_CHECK_CFLAG(FLAG, [ACTION-IF-SUPPORTED], [ACTION-IF-NOT])
# Whether the C compiler accepts FLAG (and links with it), warnings as errors.
AC_DEFUN([MCA_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([mca_var], [mca_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [mca_var], [
    mca_save_CFLAGS=$CFLAGS
    mca_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [AS_VAR_SET([mca_var], [yes])],
                   [AS_VAR_SET([mca_var], [no])])
    CFLAGS=$mca_save_CFLAGS
    LDFLAGS=$mca_save_LDFLAGS])
  AS_VAR_IF([mca_var], [yes], [$2], [$3])
  AS_VAR_POPDEF([mca_var])
])
