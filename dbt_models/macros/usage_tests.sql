{#- Generic tests of the usage, growth and satisfaction marts. -#}

