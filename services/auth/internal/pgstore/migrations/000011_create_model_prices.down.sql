DROP TABLE model_prices;
