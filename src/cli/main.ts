// Placeholder entry until the CLI lands.
console.log('cumulus: under construction');
