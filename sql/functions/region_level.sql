-- region_level: the level a region code names, by its length (0 = the nation): nasional, provinsi, kabkota, kecamatan, kelurahan or tps.
create or replace temp macro region_level(code) as
    case length(code)
        when 1 then 'nasional' when 2 then 'provinsi' when 4 then 'kabkota'
        when 6 then 'kecamatan' when 10 then 'kelurahan' when 13 then 'tps'
    end
